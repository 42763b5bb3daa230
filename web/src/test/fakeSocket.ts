// A WebSocket stand-in the tests drive by hand.
export class FakeSocket {
  static all: FakeSocket[] = []
  static last(): FakeSocket {
    return FakeSocket.all[FakeSocket.all.length - 1]
  }
  readyState = 0
  sent: { type: string; ticket_id?: string }[] = []
  onopen: (() => void) | null = null
  onmessage: ((e: { data: string }) => void) | null = null
  onclose: (() => void) | null = null
  onerror: (() => void) | null = null
  readonly url: string
  constructor(url: string) {
    this.url = url
    FakeSocket.all.push(this)
  }
  send(text: string) {
    this.sent.push(JSON.parse(text))
  }
  close() {
    this.readyState = 3
  }
  // Driven by the test:
  open() {
    this.readyState = 1
    this.onopen?.()
  }
  receive(frame: unknown) {
    this.onmessage?.({ data: JSON.stringify(frame) })
  }
  drop() {
    this.readyState = 3
    this.onclose?.()
  }
}
