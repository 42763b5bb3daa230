import ReactMarkdown, { type Components, type UrlTransform } from 'react-markdown'
import remarkGfm from 'remark-gfm'
import './markdown.css'

// Comment bodies are Markdown stored as written, by anyone who may comment:
// untrusted. react-markdown builds React elements from a syntax tree (no
// innerHTML, no eval, so it runs under the gateway's CSP); HTML written in a
// body is shown as the text it is, never parsed into elements. What is left
// to restrict is where links lead and which elements appear at all.

/** linkSchemes are the only URL schemes a link in a comment may have. */
const linkSchemes = new Set(['http:', 'https:', 'mailto:'])

/**
 * safeUrl keeps absolute http, https and mailto URLs and drops every other
 * (javascript:, data:, vbscript:, relative paths into the app, …).
 */
export const safeUrl: UrlTransform = (url) => {
  try {
    const u = new URL(url)
    return linkSchemes.has(u.protocol) ? u.href : null
  } catch {
    return null
  }
}

/** The compact set of elements a comment renders; others give way to their content. */
const allowed = [
  'p', 'br', 'strong', 'em', 'del', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'a', 'hr',
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'img', 'input',
  'table', 'thead', 'tbody', 'tr', 'th', 'td',
]

const heading: Components['h1'] = ({ children }) => (
  <p className="md-heading">
    <strong>{children}</strong>
  </p>
)

const components: Components = {
  a: ({ href, children }) =>
    href ? (
      <a href={href} target="_blank" rel="noopener noreferrer nofollow">
        {children}
      </a>
    ) : (
      <span className="md-dead-link">{children}</span>
    ),
  // An image would be fetched from wherever its author pleases (and the
  // CSP allows only our own): show a link to it instead.
  img: ({ src, alt }) => {
    const href = typeof src === 'string' ? src : undefined
    const label = alt || 'image'
    return href ? (
      <a href={href} target="_blank" rel="noopener noreferrer nofollow">
        {label}
      </a>
    ) : (
      <span>{label}</span>
    )
  },
  h1: heading,
  h2: heading,
  h3: heading,
  h4: heading,
  h5: heading,
  h6: heading,
  // Task list boxes are not something a reader of a comment can tick.
  input: ({ checked }) => <span aria-hidden="true">{checked ? '☑ ' : '☐ '}</span>,
  table: ({ children }) => (
    <div className="md-table">
      <table>{children}</table>
    </div>
  ),
}

/** Markdown renders an untrusted Markdown text safely and compactly. */
export function Markdown({ text, className }: { text: string; className?: string }) {
  return (
    <div className={className ? `markdown ${className}` : 'markdown'}>
      <ReactMarkdown
        remarkPlugins={[remarkGfm]}
        allowedElements={allowed}
        unwrapDisallowed
        urlTransform={safeUrl}
        components={components}
      >
        {text}
      </ReactMarkdown>
    </div>
  )
}
