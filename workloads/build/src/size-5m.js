// size-5m: about 5 MB of library code: size-1m's set, moment, lodash-es,
// highlight.js (every language) and mathjs.
import * as ms from "ms";
import * as escapeHtml from "escape-html";
import * as dlv from "dlv";
import * as dayjs from "dayjs/esm/index.js";
import * as marked from "marked";
import * as moment from "moment";
import * as acorn from "acorn";
import * as acornWalk from "acorn-walk";
import * as babelParser from "@babel/parser";
import * as lodash from "lodash-es";
import * as hljs from "highlight.js";
import * as mathjs from "mathjs";
import { sweepWorker } from "./sweep-handler.js";

export default sweepWorker("5m", {
  "ms": ms, "escape-html": escapeHtml, "dlv": dlv, "dayjs": dayjs, "marked": marked,
  "moment": moment, "acorn": acorn, "acorn-walk": acornWalk, "@babel/parser": babelParser,
  "lodash-es": lodash, "highlight.js": hljs, "mathjs": mathjs,
});
