import { createApp } from 'vue'
import App from './App.vue'
import { router } from './router'
import { isStaff, restore, session } from './session'
import './styles.css'

// Opened on the dashboard and signed in: ask for its figures now, while the layout's and
// the dashboard's code load (src/dashboard.ts says why).
restore()
if (location.pathname === '/' && session.token && isStaff(session.person)) {
  const asOf = new URLSearchParams(location.search).get('as_of')
  void import('./dashboard').then(({ prefetchFigures }) =>
    prefetchFigures(asOf && /^\d{4}-\d{2}-\d{2}$/.test(asOf) ? asOf : null))
}

createApp(App).use(router).mount('#app')
