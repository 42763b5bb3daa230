import { render } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { Markdown, safeUrl } from './Markdown'

const view = (text: string) => render(<Markdown text={text} />).container.firstElementChild as HTMLElement

describe('Markdown', () => {
  it('renders emphasis, code, lists, quotes and links', () => {
    const el = view('**bold** and *it* and `x < y`\n\n- one\n- two\n\n> quoted\n\nSee [the docs](https://example.com/a?b=1).')
    expect(el.querySelector('strong')?.textContent).toBe('bold')
    expect(el.querySelector('em')?.textContent).toBe('it')
    expect(el.querySelector('code')?.textContent).toBe('x < y')
    expect([...el.querySelectorAll('ul > li')].map((li) => li.textContent)).toEqual(['one', 'two'])
    expect(el.querySelector('blockquote')?.textContent?.trim()).toBe('quoted')
    const a = el.querySelector('a')!
    expect(a.getAttribute('href')).toBe('https://example.com/a?b=1')
    expect(a.getAttribute('target')).toBe('_blank')
    expect(a.getAttribute('rel')).toBe('noopener noreferrer nofollow')
  })

  it('shows HTML as the text it is, creating no element', () => {
    const text = 'Hi <script>alert(1)</script> <img src=x onerror="alert(2)"> <b onclick="x()">b</b>'
    const el = view(text)
    expect(el.querySelector('script, img, b, [onerror], [onclick]')).toBeNull()
    expect(el.textContent).toContain('<script>alert(1)</script>')
    expect(el.textContent).toContain('<img src=x onerror="alert(2)">')
    // A block of HTML too.
    const block = view('<div>\n<iframe src="https://example.com"></iframe>\n</div>')
    expect(block.querySelector('div div, iframe')).toBeNull()
    expect(block.textContent).toContain('<iframe src="https://example.com"></iframe>')
  })

  it('gives no link a scheme other than http, https or mailto', () => {
    const el = view(
      '[x](javascript:alert(1)) [y](JaVaScRiPt:alert(1)) [z](data:text/html,hi) [r](/admin) <javascript:alert(1)> ' +
        '[m](mailto:help@example.com) ![pic](javascript:alert(1)) ![logo](https://example.com/logo.png)',
    )
    const hrefs = [...el.querySelectorAll('[href], [src]')].map((n) => n.getAttribute('href') ?? n.getAttribute('src'))
    expect(hrefs).toEqual(['mailto:help@example.com', 'https://example.com/logo.png'])
    const attrs = [...el.querySelectorAll('*')].flatMap((n) => [...n.attributes].map((a) => a.value))
    expect(attrs.filter((v) => /javascript:|data:/i.test(v))).toEqual([])
    // The text of a refused link stays.
    expect(el.textContent).toContain('x')
    // Images are links to them, never fetched.
    expect(el.querySelector('img')).toBeNull()
    expect(el.querySelector('a[href="https://example.com/logo.png"]')?.textContent).toBe('logo')
  })

  it('keeps safeUrl to absolute http, https and mailto URLs', () => {
    expect(safeUrl('https://example.com/x', 'href', undefined as never)).toBe('https://example.com/x')
    expect(safeUrl('mailto:a@example.com', 'href', undefined as never)).toBe('mailto:a@example.com')
    for (const bad of ['javascript:alert(1)', ' javascript:alert(1)', 'java\nscript:alert(1)', 'vbscript:x', '//evil.example', '/x', 'data:,x']) {
      expect(safeUrl(bad, 'href', undefined as never), bad).toBeNull()
    }
  })
})
