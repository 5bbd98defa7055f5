// size-100k: about 100 KB of library code: size-10k's set, marked and dayjs.
import * as ms from "ms";
import * as escapeHtml from "escape-html";
import * as dlv from "dlv";
import * as dayjs from "dayjs/esm/index.js";
import * as marked from "marked";
import { sweepWorker } from "./sweep-handler.js";

export default sweepWorker("100k", { "ms": ms, "escape-html": escapeHtml, "dlv": dlv, "dayjs": dayjs, "marked": marked });
