// The logic of Admin → Incoming mail: the receiving address → category
// mappings of e-mail in (README "E-mail in"), put into rows for the list.
import type { Category, InboundAddress } from '../api/types'

/** DEFAULT_ADDRESS is the mapping of every address without its own. */
export const DEFAULT_ADDRESS = '*'

/** addressLabel is how the list names a mapping's address. */
export function addressLabel(address: string): string {
  return address === DEFAULT_ADDRESS ? 'any other address' : address
}

/** normalizeAddress is what the form sends: trimmed; the server lower-cases and checks it. */
export function normalizeAddress(input: string): string {
  return input.trim()
}

export interface MappingRow {
  address: string
  label: string
  categoryId: string
  /** categoryName is the category's name, or a note when the category is unknown (deleted, or set through the API). */
  categoryName: string
  /** inactive: the category takes no new tickets. */
  inactive: boolean
  /** unknown: no category has this ID. */
  unknown: boolean
}

/** mappingRows orders the mappings for the list: addresses alphabetically, the default last. */
export function mappingRows(items: InboundAddress[], categories: Category[]): MappingRow[] {
  const byId = new Map(categories.map((c) => [c.id, c]))
  return items
    .map((m) => {
      const c = byId.get(m.category_id)
      return {
        address: m.address,
        label: addressLabel(m.address),
        categoryId: m.category_id,
        categoryName: c ? c.name : `unknown category ${m.category_id}`,
        inactive: !!c && !c.active,
        unknown: !c,
      }
    })
    .sort((a, b) => {
      if (a.address === DEFAULT_ADDRESS) return 1
      if (b.address === DEFAULT_ADDRESS) return -1
      return a.address.localeCompare(b.address)
    })
}

/** hasDefault reports whether "*" is mapped. */
export function hasDefault(items: InboundAddress[]): boolean {
  return items.some((m) => m.address === DEFAULT_ADDRESS)
}

/** selectableCategories are the categories the form offers: the active ones, and the current one of the mapping being changed. */
export function selectableCategories(categories: Category[], currentId = ''): Category[] {
  return categories.filter((c) => c.active || c.id === currentId)
}
