import { useState } from 'react'
import { fireEvent, render, screen, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { FileDrop, formatSize, type PendingFile } from './FileDrop'

function Picker({ disabled, initial = [] }: { disabled?: boolean; initial?: PendingFile[] }) {
  const [files, setFiles] = useState<PendingFile[]>(initial)
  return <FileDrop files={files} onChange={setFiles} disabled={disabled} />
}

const names = () => within(screen.getByRole('list', { name: 'Attachments' })).getAllByRole('listitem').map((li) => li.querySelector('.file-name')!.textContent)

describe('FileDrop', { timeout: 20_000 }, () => {
  it('adds the files dropped on it, marks the drop zone while dragging, and removes a file', () => {
    render(<Picker />)
    const zone = screen.getByTestId('filedrop')
    fireEvent.dragOver(zone)
    expect(zone.className).toBe('filedrop over')
    fireEvent.dragLeave(zone)
    expect(zone.className).toBe('filedrop')

    const log = new File(['x'.repeat(2048)], 'error.log', { type: 'text/plain' })
    const shot = new File(['png'], 'screen.png', { type: 'image/png' })
    fireEvent.dragOver(zone)
    const dropped = fireEvent.drop(zone, { dataTransfer: { files: [log, shot], types: ['Files'] } })
    // The browser must not open the files itself.
    expect(dropped).toBe(false)
    expect(zone.className).toBe('filedrop')
    expect(names()).toEqual(['error.log', 'screen.png'])
    expect(screen.getByText('2 KB')).toBeTruthy()

    // A second drop adds to the list.
    fireEvent.drop(zone, { dataTransfer: { files: [new File(['a'], 'more.txt')] } })
    expect(names()).toEqual(['error.log', 'screen.png', 'more.txt'])

    fireEvent.click(screen.getByRole('button', { name: 'Remove screen.png' }))
    expect(names()).toEqual(['error.log', 'more.txt'])
  })

  it('adds files chosen in the dialog and warns of one too large', () => {
    render(<Picker />)
    const big = new File(['x'], 'video.mp4')
    Object.defineProperty(big, 'size', { value: 30 << 20 })
    fireEvent.change(screen.getByLabelText('Choose files'), { target: { files: [big] } })
    expect(names()).toEqual(['video.mp4'])
    expect(screen.getByText('larger than 25 MB: it will be refused')).toBeTruthy()
  })

  it('ignores drops while disabled and shows each upload’s progress', () => {
    const sending: PendingFile = { key: 'k', file: new File(['abc'], 'smoke.txt'), progress: 0.4 }
    render(<Picker disabled initial={[sending]} />)
    fireEvent.drop(screen.getByTestId('filedrop'), { dataTransfer: { files: [new File(['a'], 'late.txt')] } })
    expect(names()).toEqual(['smoke.txt'])
    const bar = screen.getByRole('progressbar', { name: 'Upload of smoke.txt' }) as HTMLProgressElement
    expect(bar.value).toBe(0.4)
    expect(bar.textContent).toBe('40%')
    expect(screen.queryByRole('button', { name: 'Remove smoke.txt' })).toBeNull()
  })
})

describe('formatSize', () => {
  it('uses B, KB and MB', () => {
    expect([formatSize(512), formatSize(2048), formatSize(3 << 20)]).toEqual(['512 B', '2 KB', '3.0 MB'])
  })
})
