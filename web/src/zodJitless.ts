// Imported first by main.tsx, before any module builds a schema: zod decides
// whether it may compile parsers with `new Function` once, when the first
// object schema is built, by trying it. Under the gateway's CSP (no
// 'unsafe-eval', deploy/nginx/csp.conf) that probe fails, and Chromium
// reports it as a CSP violation although zod carries on. jitless skips the
// probe and the compiled parsers: zod only interprets.
import { z } from 'zod'

z.config({ jitless: true })
