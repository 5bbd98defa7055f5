// CPU-bound: parse a ~100 KB JSON list of orders (the request body), aggregate
// it per region, customer and SKU, sort, serialize the report, and hash it with
// SHA-256 over its UTF-8 bytes, all in plain JavaScript. Answers a short JSON.
import { sha256Hex, utf8 } from "./sha256.js";

const cents = (x) => Math.round(x * 100) / 100;

function byValueThenKey(a, b) {
  return b.revenue - a.revenue || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

function bucket(map, key) {
  let entry = map.get(key);
  if (!entry) {
    entry = { key, orders: 0, items: 0, revenue: 0 };
    map.set(key, entry);
  }
  return entry;
}

function report(data, run) {
  const regions = new Map();
  const customers = new Map();
  const skus = new Map();
  const cities = new Map();
  const totals = [];
  let items = 0;
  for (const order of data.orders) {
    let total = 0;
    for (const item of order.items) {
      const line = item.qty * item.price * (1 - (item.discount || 0));
      total += line;
      items += item.qty;
      const sku = bucket(skus, item.sku);
      sku.orders += 1;
      sku.items += item.qty;
      sku.revenue += line;
    }
    total = cents(total);
    totals.push({ key: order.id, revenue: total, customer: order.customer, placed: order.placed });
    for (const [map, key] of [[regions, order.region], [customers, order.customer], [cities, order.city]]) {
      const entry = bucket(map, key);
      entry.orders += 1;
      entry.items += order.items.reduce((n, item) => n + item.qty, 0);
      entry.revenue += total;
    }
  }
  const finish = (map) =>
    [...map.values()]
      .map((e) => ({ ...e, revenue: cents(e.revenue), average: cents(e.revenue / e.orders) }))
      .sort(byValueThenKey);
  totals.sort(byValueThenKey);
  return {
    run,
    generated: data.generated,
    orders: totals.length,
    items,
    regions: finish(regions),
    cities: finish(cities),
    customers: finish(customers),
    skus: finish(skus),
    largest: totals.slice(0, 25),
    byMonth: totals.reduce((months, t) => {
      const month = t.placed.slice(0, 7);
      months[month] = cents((months[month] || 0) + t.revenue);
      return months;
    }, {}),
  };
}

export default {
  async fetch(request) {
    const run = new URL(request.url).searchParams.get("run") || "";
    const data = await request.json();
    const result = report(data, run);
    const bytes = utf8(JSON.stringify(result));
    return Response.json({
      sha256: sha256Hex(bytes),
      bytes: bytes.length,
      orders: result.orders,
      items: result.items,
      customers: result.customers.length,
      regions: result.regions.length,
      top: result.largest[0].key,
    });
  },
};
