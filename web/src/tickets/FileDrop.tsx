import { useId, useState, type DragEvent } from 'react'

export interface PendingFile {
  key: string
  file: File
  progress: number | null
  error?: string
}

const maxBytes = 25 << 20

/** FileDrop picks files by drag and drop or with the file dialog, and shows each one's upload progress. */
export function FileDrop({ files, onChange, disabled }: { files: PendingFile[]; onChange: (f: PendingFile[]) => void; disabled?: boolean }) {
  const inputId = useId()
  const [over, setOver] = useState(false)
  const add = (list: FileList | null) => {
    if (!list) return
    const added = [...list].map((file) => ({
      key: `${file.name}-${file.size}-${file.lastModified}-${Math.random()}`,
      file,
      progress: null,
      error: file.size > maxBytes ? 'larger than 25 MB: it will be refused' : undefined,
    }))
    onChange([...files, ...added])
  }
  const onDrop = (e: DragEvent) => {
    e.preventDefault()
    setOver(false)
    if (!disabled) add(e.dataTransfer.files)
  }
  return (
    <div className="filedrop-wrap">
      <div
        className={`filedrop${over ? ' over' : ''}`}
        data-testid="filedrop"
        onDragOver={(e) => {
          e.preventDefault()
          setOver(true)
        }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
      >
        <p>Drop files here, or</p>
        {/* The input is visually hidden: the label shows its focus (styles.css, .filedrop:focus-within). */}
        <label htmlFor={inputId} className="button choose-files">Choose files</label>
        <input id={inputId} type="file" multiple className="visually-hidden" disabled={disabled} onChange={(e) => { add(e.target.files); e.target.value = '' }} />
      </div>
      {files.length > 0 && (
        <ul className="files" aria-label="Attachments">
          {files.map((f) => (
            <li key={f.key}>
              <span className="file-name">{f.file.name}</span>
              <span className="muted small">{formatSize(f.file.size)}</span>
              {f.progress !== null && (
                <progress max={1} value={f.progress} aria-label={`Upload of ${f.file.name}`}>
                  {Math.round(f.progress * 100)}%
                </progress>
              )}
              {f.error && <span className="field-error">{f.error}</span>}
              {f.progress === null && !disabled && (
                <button type="button" className="link" aria-label={`Remove ${f.file.name}`} onClick={() => onChange(files.filter((x) => x.key !== f.key))}>
                  Remove
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}

export function formatSize(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1 << 20) return `${(n / 1024).toFixed(0)} KB`
  return `${(n / (1 << 20)).toFixed(1)} MB`
}
