// size-10k: about 10 KB of library code (see README.md for versions).
import * as ms from "ms";
import * as escapeHtml from "escape-html";
import * as dlv from "dlv";
import { sweepWorker } from "./sweep-handler.js";

export default sweepWorker("10k", { "ms": ms, "escape-html": escapeHtml, "dlv": dlv });
