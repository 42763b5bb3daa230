import { useState } from 'react'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { downloadRoute, messagingApi } from '../api/endpoints'
import { buildPath, currentAccessToken, errorMessage } from '../api/http'
import type { Attachment } from '../api/types'
import { uploadAttachment } from '../api/upload'
import { FileDrop, formatSize, type PendingFile } from './FileDrop'

/** Attachments lists a ticket's files and takes new ones. */
export function Attachments({ ticketId }: { ticketId: string }) {
  const qc = useQueryClient()
  const list = useQuery({ queryKey: ['attachments', ticketId], queryFn: async () => (await messagingApi.attachments(ticketId)).items, retry: false })
  const [files, setFiles] = useState<PendingFile[]>([])
  const [busy, setBusy] = useState(false)

  const upload = async () => {
    setBusy(true)
    for (const f of files) {
      const set = (patch: Partial<PendingFile>) => setFiles((all) => all.map((x) => (x.key === f.key ? { ...x, ...patch } : x)))
      set({ progress: 0, error: undefined })
      try {
        await uploadAttachment(ticketId, f.file, (p) => set({ progress: p })).promise
        setFiles((all) => all.filter((x) => x.key !== f.key))
      } catch (err) {
        set({ error: errorMessage(err), progress: null })
      }
    }
    setBusy(false)
    void qc.invalidateQueries({ queryKey: ['attachments', ticketId] })
  }

  return (
    <section className="card" aria-labelledby="files-title">
      <h2 id="files-title">Files</h2>
      {list.data && list.data.length > 0 && (
        <ul className="files">
          {list.data.map((a) => (
            <li key={a.id}>
              <button type="button" className="link" onClick={() => void download(a)}>{a.file_name}</button>
              <span className="muted small">{formatSize(a.size)}</span>
            </li>
          ))}
        </ul>
      )}
      {list.data && list.data.length === 0 && <p className="muted">No files yet.</p>}
      <FileDrop files={files} onChange={setFiles} disabled={busy} />
      {files.length > 0 && (
        <button type="button" className="primary" disabled={busy} onClick={() => void upload()}>
          {busy ? 'Uploading…' : `Upload ${files.length} file${files.length > 1 ? 's' : ''}`}
        </button>
      )}
    </section>
  )
}

/** download fetches a file with the bearer token, which a plain link cannot carry. */
async function download(a: Attachment) {
  const res = await fetch(buildPath(downloadRoute.split(' ')[1], { id: a.id }), {
    headers: { Authorization: `Bearer ${currentAccessToken() ?? ''}` },
  })
  if (!res.ok) return
  const url = URL.createObjectURL(await res.blob())
  const link = document.createElement('a')
  link.href = url
  link.download = a.file_name
  link.click()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}
