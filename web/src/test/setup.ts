import { cleanup } from '@testing-library/react'
import { afterEach } from 'vitest'

afterEach(() => {
  cleanup()
  // Some tests run in the node environment, without storage.
  globalThis.sessionStorage?.clear()
  globalThis.localStorage?.clear()
})
