import { createContext, useContext, useEffect, useState, type ReactNode } from 'react'
import { messagingApi } from '../api/endpoints'
import { useAuth } from '../auth/AuthContext'
import { LiveSocket, socketURL, type LiveStatus } from './live'

const LiveContext = createContext<LiveSocket | null>(null)

function newSocket() {
  return new LiveSocket({ ticket: async () => (await messagingApi.wsTicket()).ticket, url: socketURL })
}

/** LiveProvider keeps one WebSocket open while someone is signed in. */
export function LiveProvider({ children, socket }: { children: ReactNode; socket?: LiveSocket }) {
  const { status } = useAuth()
  const [live] = useState(() => socket ?? newSocket())
  useEffect(() => {
    if (status !== 'signedIn') return
    live.start()
    return () => live.stop()
  }, [live, status])
  return <LiveContext.Provider value={live}>{children}</LiveContext.Provider>
}

export function useLive(): LiveSocket {
  const l = useContext(LiveContext)
  if (!l) throw new Error('useLive outside LiveProvider')
  return l
}

export function useLiveStatus(): LiveStatus {
  const live = useLive()
  const [s, setS] = useState(live.getStatus())
  useEffect(() => {
    setS(live.getStatus())
    return live.onStatus(setS)
  }, [live])
  return s
}
