import { useQuery } from '@tanstack/react-query'
import { helpdeskApi, workflowApi } from '../api/endpoints'

export function useCategories(all = false) {
  return useQuery({ queryKey: ['categories', all], queryFn: async () => (await helpdeskApi.categories(all)).items, staleTime: 60_000 })
}

/** useCategoryNames maps category IDs to names. */
export function useCategoryNames(): Record<string, string> {
  const { data } = useCategories()
  return Object.fromEntries((data ?? []).map((c) => [c.id, c.name]))
}

export function useAgents(enabled = true) {
  return useQuery({ queryKey: ['agents'], queryFn: async () => (await workflowApi.agents()).items, enabled, staleTime: 60_000 })
}
