import { act, render, screen } from '@testing-library/react'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { TicketState } from '../api/types'
import { SlaPanel } from './SlaPanel'

const start = Date.parse('2026-11-03T09:00:00Z')
const clock = (patch: Partial<TicketState['sla']['first_response']> = {}) => ({ met: false, breached: false, warned: false, paused: false, ...patch })
const at = (ms: number) => new Date(start + ms).toISOString()

const first = () => screen.getByTestId('sla-first-response')
const resolution = () => screen.getByTestId('sla-resolution')
const tone = (el: HTMLElement) => el.closest('.sla-clock')!.className

beforeEach(() => {
  vi.useFakeTimers()
  vi.setSystemTime(start)
})
afterEach(() => vi.useRealTimers())

describe('SlaPanel', () => {
  it('counts down every second and turns overdue when the deadline passes', () => {
    const sla: TicketState['sla'] = {
      first_response_due: at(90_000), resolution_due: at(3 * 86_400_000), breached: false,
      first_response: clock(), resolution: clock(),
    }
    render(<SlaPanel sla={sla} status="open" />)
    expect(first().textContent).toMatch(/^Due .+ \(1 min 30 s\)$/)
    expect(tone(first())).toBe('sla-clock warn')
    expect(resolution().textContent).toMatch(/^Due .+ \(3 d 0 h\)$/)
    expect(tone(resolution())).toBe('sla-clock ok')

    act(() => vi.advanceTimersByTime(5000))
    expect(first().textContent).toMatch(/\(1 min 25 s\)$/)
    act(() => vi.advanceTimersByTime(25_000))
    expect(first().textContent).toMatch(/\(1 min 00 s\)$/)
    act(() => vi.advanceTimersByTime(59_000))
    expect(first().textContent).toMatch(/\(0 min 01 s\)$/)

    // Past the deadline, before the workflow has recorded the breach.
    act(() => vi.advanceTimersByTime(11_000))
    expect(first().textContent).toBe('Overdue by 0 min 10 s')
    expect(tone(first())).toBe('sla-clock breached')
  })

  it('shows a breached, a met and a paused clock as such, and nothing running once closed', () => {
    const breached: TicketState['sla'] = {
      first_response_due: at(-2 * 3_600_000), resolution_due: at(86_400_000), breached: true,
      first_response: clock({ breached: true }), resolution: clock({ paused: true }),
    }
    const { rerender } = render(<SlaPanel sla={breached} status="pending" />)
    expect(first().textContent).toMatch(/^Breached 2 hr\.? ago$/)
    expect(tone(first())).toBe('sla-clock breached')
    expect(resolution().textContent).toBe('Paused while waiting on the requester')
    expect(tone(resolution())).toBe('sla-clock paused')
    // A breached clock does not tick on as a countdown.
    act(() => vi.advanceTimersByTime(60_000))
    expect(first().textContent).toMatch(/^Breached /)

    const done: TicketState['sla'] = {
      first_response_due: at(60_000), resolution_due: at(86_400_000), breached: false,
      first_response: clock({ met: true }), resolution: clock(),
    }
    rerender(<SlaPanel sla={done} status="closed" />)
    expect(first().textContent).toBe('Met')
    expect(resolution().textContent).toBe('—')
  })
})
