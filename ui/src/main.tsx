import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import './index.css'
import { applyTheme } from './lib/theme'
import { App } from './App'
import { ApiError } from './api/client'

applyTheme()

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // Live events keep the caches fresh: no polling, no refetch on focus.
      staleTime: Infinity,
      refetchOnWindowFocus: false,
      retry: (n, err) => !(err instanceof ApiError && err.status >= 400 && err.status < 500) && n < 3,
    },
  },
})

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <App />
    </QueryClientProvider>
  </StrictMode>,
)
