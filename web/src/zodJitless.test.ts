// @vitest-environment node
import { afterEach, describe, expect, it, vi } from 'vitest'

afterEach(() => vi.unstubAllGlobals())

/** watchFunction counts `new Function(...)`, what a CSP without 'unsafe-eval' refuses. */
function watchFunction() {
  const made: unknown[][] = []
  vi.stubGlobal('Function', new Proxy(Function, { construct: (target, args) => (made.push(args), Reflect.construct(target, args)) }))
  return made
}

describe('zod under a CSP without unsafe-eval', () => {
  it('builds and parses object schemas without new Function once zodJitless ran', async () => {
    const made = watchFunction()
    await import('./zodJitless')
    const { z } = await import('zod')
    const s = z.object({ a: z.string(), b: z.object({ c: z.number() }) })
    expect(s.parse({ a: 'x', b: { c: 1 } })).toEqual({ a: 'x', b: { c: 1 } })
    expect(s.safeParse({ a: 1 }).success).toBe(false)
    expect(made).toEqual([])
  })

  it('(the check works: without jitless, zod probes and compiles)', async () => {
    vi.resetModules()
    ;(globalThis as { __zod_globalConfig?: { jitless?: boolean } }).__zod_globalConfig!.jitless = false
    const made = watchFunction()
    const { z } = await import('zod')
    z.object({ a: z.string() }).parse({ a: 'x' })
    expect(made.length).toBeGreaterThan(0)
  })
})
