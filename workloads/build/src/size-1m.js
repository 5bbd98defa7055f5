// size-1m: about 1 MB of library code: size-100k's set, acorn, acorn-walk
// and @babel/parser.
import * as ms from "ms";
import * as escapeHtml from "escape-html";
import * as dlv from "dlv";
import * as dayjs from "dayjs/esm/index.js";
import * as marked from "marked";
import * as acorn from "acorn";
import * as acornWalk from "acorn-walk";
import * as babelParser from "@babel/parser";
import { sweepWorker } from "./sweep-handler.js";

export default sweepWorker("1m", {
  "ms": ms, "escape-html": escapeHtml, "dlv": dlv, "dayjs": dayjs, "marked": marked,
  "acorn": acorn, "acorn-walk": acornWalk, "@babel/parser": babelParser,
});
