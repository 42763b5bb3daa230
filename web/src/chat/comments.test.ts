import { describe, expect, it } from 'vitest'
import type { Comment } from '../api/types'
import { mergeComments } from './comments'

const c = (id: string, at: string, body = id, edited: string | null = null): Comment => ({
  id, ticket_id: 't', author_id: 'a', author_name: 'Ana', author_role: 'employee', body, internal: false,
  created_at: at, edited_at: edited, deleted: false,
})

describe('mergeComments', () => {
  it('keeps one entry per comment whatever way it arrived', () => {
    const live = [c('b', '2026-11-03T09:01:00Z'), c('c', '2026-11-03T09:02:00Z')]
    const refetched = [c('a', '2026-11-03T09:00:00Z'), c('b', '2026-11-03T09:01:00Z'), c('c', '2026-11-03T09:02:00Z'), c('d', '2026-11-03T09:03:00Z')]
    expect(mergeComments(live, refetched).map((x) => x.id)).toEqual(['a', 'b', 'c', 'd'])
    expect(mergeComments(mergeComments(live, refetched), live)).toHaveLength(4)
  })

  it('orders by time, then ID, whatever the arrival order', () => {
    const out = mergeComments([c('z', '2026-11-03T09:05:00Z')], [c('y', '2026-11-03T09:01:00Z'), c('x', '2026-11-03T09:05:00Z')])
    expect(out.map((x) => x.id)).toEqual(['y', 'x', 'z'])
  })

  it('lets the later edit win, even when an older copy arrives last', () => {
    const edited = c('a', '2026-11-03T09:00:00Z', 'fixed typo', '2026-11-03T09:04:00Z')
    const stale = c('a', '2026-11-03T09:00:00Z', 'fixd typo')
    expect(mergeComments([edited], [stale])[0].body).toBe('fixed typo')
    expect(mergeComments([stale], [edited])[0].body).toBe('fixed typo')
    const deleted = { ...stale, body: '', deleted: true }
    expect(mergeComments([deleted], [edited])[0].deleted).toBe(true)
  })
})
