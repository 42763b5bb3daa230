// Dates in the user's locale: absolute ("3 Nov 2026, 09:00") and relative
// ("in 2 hr", "5 min ago") with Intl.

const units: [Intl.RelativeTimeFormatUnit, number][] = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
]

/** relativeTime says how far `when` is from `now`, e.g. "in 2 hr" or "3 days ago". */
export function relativeTime(when: Date | string, now: Date | number = Date.now(), locale?: string): string {
  const t = typeof when === 'string' ? new Date(when).getTime() : when.getTime()
  const n = typeof now === 'number' ? now : now.getTime()
  const diff = t - n
  const abs = Math.abs(diff)
  const fmt = new Intl.RelativeTimeFormat(locale, { numeric: 'auto', style: 'short' })
  for (const [unit, ms] of units) {
    if (abs >= ms || unit === 'second') {
      // Round toward the larger unit only past half of it ("in 2 hr" for 1 h 40 min).
      const value = Math.round(diff / ms)
      return fmt.format(value, unit)
    }
  }
  return fmt.format(0, 'second')
}

/** dateTime formats a time in the user's locale, date and time. */
export function dateTime(when: Date | string, locale?: string): string {
  const d = typeof when === 'string' ? new Date(when) : when
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(d)
}

/** countdown is a precise "1 h 05 min 12 s" for SLA clocks; negative is overdue. */
export function countdown(ms: number): string {
  const sign = ms < 0 ? '-' : ''
  let s = Math.floor(Math.abs(ms) / 1000)
  const d = Math.floor(s / 86400)
  s -= d * 86400
  const h = Math.floor(s / 3600)
  s -= h * 3600
  const m = Math.floor(s / 60)
  s -= m * 60
  const pad = (x: number) => String(x).padStart(2, '0')
  if (d > 0) return `${sign}${d} d ${h} h`
  if (h > 0) return `${sign}${h} h ${pad(m)} min`
  return `${sign}${m} min ${pad(s)} s`
}
