import type { TicketState } from '../api/types'
import { countdown, dateTime, relativeTime } from '../lib/time'
import { useNow } from '../lib/useNow'

type Clock = TicketState['sla']['first_response']

/** SlaPanel shows both SLA clocks, ticking every second. */
export function SlaPanel({ sla, status }: { sla: TicketState['sla']; status: string }) {
  const now = useNow(1000)
  const done = status === 'closed'
  return (
    <dl className="sla">
      <SlaClock label="First response" due={sla.first_response_due} clock={sla.first_response} now={now} done={done} />
      <SlaClock label="Resolution" due={sla.resolution_due} clock={sla.resolution} now={now} done={done} />
    </dl>
  )
}

function SlaClock({ label, due, clock, now, done }: { label: string; due: string | null; clock: Clock; now: number; done: boolean }) {
  let text: string
  let tone = 'ok'
  if (clock.met) {
    text = 'Met'
  } else if (clock.breached) {
    text = due ? `Breached ${relativeTime(due, now)}` : 'Breached'
    tone = 'breached'
  } else if (clock.paused) {
    text = 'Paused while waiting on the requester'
    tone = 'paused'
  } else if (done || !due) {
    text = '—'
  } else {
    const left = Date.parse(due) - now
    text = left < 0 ? `Overdue by ${countdown(-left)}` : `Due ${relativeTime(due, now)} (${countdown(left)})`
    tone = left < 0 ? 'breached' : clock.warned || left < 3_600_000 ? 'warn' : 'ok'
  }
  return (
    <div className={`sla-clock ${tone}`}>
      <dt>{label}</dt>
      <dd>
        <span data-testid={`sla-${label.toLowerCase().replace(' ', '-')}`}>{text}</span>
        {due && !clock.met && <span className="muted small"> · {dateTime(due)}</span>}
      </dd>
    </div>
  )
}
