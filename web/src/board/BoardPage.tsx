import { useEffect, useState } from 'react'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { useSearchParams } from 'react-router'
import { workflowApi } from '../api/endpoints'
import { ErrorText, Loading } from '../ui/Status'
import { useCategories } from '../tickets/hooks'
import { BoardView } from './BoardView'
import { useTitle } from '../lib/useTitle'

/** BoardPage is the kanban of one category's process (or of every ticket on the default process). */
export function BoardPage() {
  useTitle('Board')
  const [params, setParams] = useSearchParams()
  const categoryId = params.get('category') ?? ''
  const categories = useCategories()
  const qc = useQueryClient()
  const board = useQuery({
    queryKey: ['board', categoryId || 'all'],
    queryFn: () => workflowApi.board(categoryId || undefined),
    refetchInterval: 15_000,
  })
  // Pick the first category once they are known: a board is per category.
  const [picked, setPicked] = useState(false)
  useEffect(() => {
    if (!picked && !categoryId && categories.data?.length) {
      setPicked(true)
      setParams({ category: categories.data[0].id }, { replace: true })
    }
  }, [picked, categoryId, categories.data, setParams])

  return (
    <main className="page wide">
      <div className="page-head">
        <h1>Board</h1>
        <label className="inline">
          Category
          <select value={categoryId} onChange={(e) => setParams(e.target.value ? { category: e.target.value } : {})}>
            <option value="">All categories (default process)</option>
            {(categories.data ?? []).map((c) => (
              <option key={c.id} value={c.id}>{c.name}</option>
            ))}
          </select>
        </label>
      </div>
      {board.isPending ? (
        <Loading label="Loading the board…" />
      ) : board.isError ? (
        <ErrorText error={board.error} title="The board could not be loaded" />
      ) : (
        <BoardView board={board.data} onMoved={() => setTimeout(() => void qc.invalidateQueries({ queryKey: ['board'] }), 1000)} />
      )}
    </main>
  )
}
