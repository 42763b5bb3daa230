import type { Step, Transition } from '../api/types'

const boxW = 120
const boxH = 44
const gap = 48

/**
 * ProcessDiagram draws a process: its steps left to right in their order,
 * moves forward as arcs above, moves back as arcs below.
 */
export function ProcessDiagram({ steps, transitions }: { steps: Step[]; transitions: Transition[] }) {
  const index = new Map(steps.map((s, i) => [s.key, i]))
  const x = (i: number) => 10 + i * (boxW + gap)
  const mid = 110
  const width = Math.max(200, x(steps.length) - gap + 10)
  const height = mid * 2
  return (
    <svg className="diagram" viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label={`Process with ${steps.length} steps and ${transitions.length} moves`}>
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M0,0 L10,5 L0,10 z" fill="currentColor" />
        </marker>
      </defs>
      {transitions.map((t, n) => {
        const a = index.get(t.from)
        const b = index.get(t.to)
        if (a === undefined || b === undefined || a === b) return null
        const forward = b > a
        const x1 = x(a) + boxW / 2 + (forward ? 12 : -12)
        const x2 = x(b) + boxW / 2 + (forward ? -12 : 12)
        const span = Math.abs(b - a)
        const y = forward ? mid - boxH / 2 : mid + boxH / 2
        const bend = (forward ? -1 : 1) * Math.min(mid - boxH / 2 - 8, 26 + span * 14)
        const d = `M${x1},${y} C${x1},${y + bend} ${x2},${y + bend} ${x2},${y}`
        return (
          <path key={n} d={d} className={`arrow${forward ? '' : ' back'}`} markerEnd="url(#arrow)">
            <title>{`${t.from} → ${t.to}: ${t.roles.join(', ')}`}</title>
          </path>
        )
      })}
      {steps.map((s, i) => (
        <g key={s.key} transform={`translate(${x(i)},${mid - boxH / 2})`} className={`node${s.terminal ? ' terminal' : ''}`}>
          <rect width={boxW} height={boxH} rx="8" />
          {s.terminal && <rect x="3" y="3" width={boxW - 6} height={boxH - 6} rx="6" className="inner" />}
          <text x={boxW / 2} y={boxH / 2 + 5} textAnchor="middle">
            {s.name.length > 16 ? s.name.slice(0, 15) + '…' : s.name}
          </text>
        </g>
      ))}
    </svg>
  )
}
