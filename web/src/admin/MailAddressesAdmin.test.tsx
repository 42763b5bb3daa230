import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Category, InboundAddress } from '../api/types'
import { mockApi, renderApp, signedInSession } from '../test/harness'
import { MailAddressesAdmin } from './MailAddressesAdmin'
import { addressLabel, hasDefault, mappingRows, normalizeAddress, selectableCategories } from './mailAddresses'

const cat = (id: string, name: string, active = true): Category =>
  ({ id, name, description: '', active, created_at: '2026-11-27T10:00:00Z' }) as Category
const hardware = cat('c-hw', 'Hardware')
const software = cat('c-sw', 'Software')
const old = cat('c-old', 'Old stuff', false)
const at = '2026-11-27T10:00:00Z'

describe('mailAddresses', () => {
  it('names the default "any other address" and lists it last', () => {
    const items: InboundAddress[] = [
      { address: '*', category_id: 'c-sw', updated_at: at },
      { address: 'support@example.com', category_id: 'c-hw', updated_at: at },
      { address: 'legacy@example.com', category_id: 'c-old', updated_at: at },
      { address: 'api@example.com', category_id: 'c-gone', updated_at: at },
    ]
    const rows = mappingRows(items, [hardware, software, old])
    expect(rows.map((r) => r.label)).toEqual(['api@example.com', 'legacy@example.com', 'support@example.com', 'any other address'])
    expect(rows.map((r) => r.categoryName)).toEqual(['unknown category c-gone', 'Old stuff', 'Hardware', 'Software'])
    expect(rows[0].unknown).toBe(true)
    expect(rows[1].inactive).toBe(true)
    expect(rows[2]).toMatchObject({ inactive: false, unknown: false, categoryId: 'c-hw' })
    expect(hasDefault(items)).toBe(true)
    expect(hasDefault(items.slice(1))).toBe(false)
    expect(addressLabel('x@example.com')).toBe('x@example.com')
  })

  it('offers active categories, and the inactive one being changed', () => {
    expect(selectableCategories([hardware, old, software]).map((c) => c.id)).toEqual(['c-hw', 'c-sw'])
    expect(selectableCategories([hardware, old, software], 'c-old').map((c) => c.id)).toEqual(['c-hw', 'c-old', 'c-sw'])
    expect(normalizeAddress('  Support@Example.com ')).toBe('Support@Example.com')
  })
})

describe('MailAddressesAdmin', () => {
  afterEach(() => vi.restoreAllMocks())

  it('maps an address, changes the default, shows a refusal and deletes a mapping', async () => {
    const items = new Map<string, string>([['*', 'c-hw']])
    const puts: { path: string; body: unknown }[] = []
    const { calls } = mockApi({
      'GET /auth/me': () => ({ body: { id: 'u1', email: 'ada@example.com', name: 'Ada', role: 'admin', active: true } }),
      'GET /helpdesk/categories': () => ({ body: { items: [hardware, software, old] } }),
      'GET /notifications/inbound/addresses': () => ({
        body: { items: [...items].sort().map(([address, category_id]) => ({ address, category_id, updated_at: at })) },
      }),
      'PUT /notifications/inbound/addresses/*': (body, url) => {
        const address = decodeURIComponent(url.pathname.split('/').pop()!).toLowerCase()
        puts.push({ path: url.pathname, body })
        if (address !== '*' && !/^[^@\s]+@[^@\s]+$/.test(address)) {
          return { status: 422, body: { type: 'about:blank', title: 'Unprocessable Entity', status: 422, code: 'unprocessable', detail: 'the request has invalid fields', errors: [{ field: 'address', message: 'must be an e-mail address or *' }] } }
        }
        const category_id = (body as { category_id: string }).category_id
        items.set(address, category_id)
        return { body: { address, category_id, updated_at: at } }
      },
      'DELETE /notifications/inbound/addresses/*': (_, url) => {
        items.delete(decodeURIComponent(url.pathname.split('/').pop()!))
        return { status: 204 }
      },
    })
    const confirm = vi.spyOn(window, 'confirm').mockReturnValue(true)
    renderApp(<MailAddressesAdmin />, { session: signedInSession('u1', 'admin') })

    const list = () => within(screen.getByRole('list', { name: 'Mappings' }))
    await screen.findByText('any other address')
    expect(screen.queryByTestId('no-default')).toBeNull()
    const form = within(screen.getByRole('form', { name: 'Map an address' }))
    // The inactive category is not offered for a new mapping.
    await waitFor(() => expect(form.getAllByRole('option').map((o) => o.textContent)).toEqual(['Choose a category…', 'Hardware', 'Software']))

    fireEvent.change(form.getByLabelText('Receiving address'), { target: { value: ' Support@Example.com ' } })
    fireEvent.change(form.getByLabelText('Category'), { target: { value: 'c-sw' } })
    fireEvent.click(form.getByRole('button', { name: 'Save mapping' }))
    await screen.findByText('support@example.com')
    expect(puts[0]).toEqual({ path: '/notifications/inbound/addresses/Support%40Example.com', body: { category_id: 'c-sw' } })
    expect((form.getByLabelText('Receiving address') as HTMLInputElement).value).toBe('')
    const rows = list().getAllByRole('listitem')
    expect(rows.map((r) => r.getAttribute('data-address'))).toEqual(['support@example.com', '*'])
    expect(rows[0].textContent).toContain('→ Software')

    // Change the default: the form is filled with it.
    fireEvent.click(within(rows[1]).getByRole('button', { name: 'Change' }))
    expect((form.getByLabelText('Receiving address') as HTMLInputElement).value).toBe('*')
    expect((form.getByLabelText('Category') as HTMLSelectElement).value).toBe('c-hw')
    fireEvent.change(form.getByLabelText('Category'), { target: { value: 'c-sw' } })
    fireEvent.click(form.getByRole('button', { name: 'Save mapping' }))
    await waitFor(() => expect(list().getAllByRole('listitem')[1].textContent).toContain('any other address → Software'))
    expect(puts[1]).toEqual({ path: '/notifications/inbound/addresses/*', body: { category_id: 'c-sw' } })

    // A malformed address: the server's reason is shown.
    fireEvent.change(form.getByLabelText('Receiving address'), { target: { value: 'not an address' } })
    fireEvent.change(form.getByLabelText('Category'), { target: { value: 'c-hw' } })
    fireEvent.click(form.getByRole('button', { name: 'Save mapping' }))
    const alert = await screen.findByRole('alert')
    expect(alert.textContent).toBe('The mapping was refused: the request has invalid fields: address must be an e-mail address or *')
    expect((form.getByLabelText('Receiving address') as HTMLInputElement).value).toBe('not an address')

    // Delete the default, after confirming.
    fireEvent.click(within(list().getAllByRole('listitem')[1]).getByRole('button', { name: 'Delete' }))
    expect(confirm).toHaveBeenCalledWith(expect.stringContaining('any other address → Software'))
    await screen.findByTestId('no-default')
    expect(list().getAllByRole('listitem').map((r) => r.getAttribute('data-address'))).toEqual(['support@example.com'])
    expect(calls).toContain('DELETE /notifications/inbound/addresses/*')

    // Declined: nothing is deleted.
    confirm.mockReturnValue(false)
    fireEvent.click(within(list().getAllByRole('listitem')[0]).getByRole('button', { name: 'Delete' }))
    await new Promise((r) => setTimeout(r, 50))
    expect(calls.filter((c) => c.startsWith('DELETE'))).toHaveLength(1)
    expect(list().getAllByRole('listitem')).toHaveLength(1)
  })
})
