import { createApp } from 'vue'
import { Locale } from 'vant'
import zhCN from 'vant/es/locale/lang/zh-CN'
import App from './App.vue'
import { router } from './router'
import { keepSessionIn } from '../session'
import { startSyncing } from './outbox'
import './app.css'

// On a phone the sign-in lasts for the token's lifetime, also across closing the app.
keepSessionIn(localStorage)
Locale.use('zh-CN', zhCN)
createApp(App).use(router).mount('#app')
startSyncing()

// The service worker (vite-plugin-pwa) caches the app's files so it opens without signal.
if ('serviceWorker' in navigator && import.meta.env.PROD) {
  void import('virtual:pwa-register').then(({ registerSW }) => registerSW({ immediate: true }))
}
