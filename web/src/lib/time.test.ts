import { describe, expect, it } from 'vitest'
import { countdown, relativeTime } from './time'

const now = Date.parse('2026-11-03T09:00:00Z')

describe('relativeTime', () => {
  it('says how far a deadline is, in the largest fitting unit', () => {
    expect(relativeTime('2026-11-03T11:00:00Z', now, 'en')).toBe('in 2 hr.')
    expect(relativeTime('2026-11-03T10:40:00Z', now, 'en')).toBe('in 2 hr.')
    expect(relativeTime('2026-11-03T08:55:00Z', now, 'en')).toBe('5 min. ago')
    expect(relativeTime('2026-11-05T09:00:00Z', now, 'en')).toBe('in 2 days')
    expect(relativeTime('2026-11-03T09:00:20Z', now, 'en')).toBe('in 20 sec.')
  })

  it('speaks the user’s language', () => {
    expect(relativeTime('2026-11-03T11:00:00Z', now, 'de')).toBe('in 2 Std.')
    expect(relativeTime('2026-11-02T09:00:00Z', now, 'fr')).toBe('hier')
  })
})

describe('countdown', () => {
  it('ticks down to the second and shows overdue time as negative', () => {
    expect(countdown(3_725_000)).toBe('1 h 02 min')
    expect(countdown(65_000)).toBe('1 min 05 s')
    expect(countdown(-30_000)).toBe('-0 min 30 s')
    expect(countdown(2 * 86_400_000 + 3_600_000)).toBe('2 d 1 h')
  })
})
