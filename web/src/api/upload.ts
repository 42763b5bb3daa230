// Attachment uploads go through XMLHttpRequest, the one browser API that
// reports upload progress.
import { attachmentRoute } from './endpoints'
import { ApiError, buildPath, currentAccessToken } from './http'
import type { Attachment, Problem } from './types'

export interface UploadHandle {
  promise: Promise<Attachment>
  abort(): void
}

/** uploadAttachment sends one file; onProgress gets a fraction from 0 to 1. */
export function uploadAttachment(ticketId: string, file: File, onProgress: (fraction: number) => void): UploadHandle {
  const xhr = new XMLHttpRequest()
  const promise = new Promise<Attachment>((resolve, reject) => {
    xhr.open('POST', buildPath(attachmentRoute.split(' ')[1], { id: ticketId }))
    const token = currentAccessToken()
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`)
    xhr.setRequestHeader('Accept', 'application/json')
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total)
    }
    xhr.onload = () => {
      let body: unknown
      try {
        body = JSON.parse(xhr.responseText)
      } catch {
        body = undefined
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1)
        resolve(body as Attachment)
      } else {
        reject(new ApiError(xhr.status, body as Problem | undefined))
      }
    }
    xhr.onerror = () => reject(new TypeError('network error'))
    xhr.onabort = () => reject(new Error('The upload was cancelled.'))
    const form = new FormData()
    form.append('file', file, file.name)
    xhr.send(form)
  })
  return { promise, abort: () => xhr.abort() }
}
