import { fileURLToPath, URL } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import Components from 'unplugin-vue-components/vite'
import { VantResolver } from '@vant/auto-import-resolver'
import { VitePWA } from 'vite-plugin-pwa'

// The caregiver app (手机端), served by the gateway at /m/ beside the console: its own page
// (m/index.html) and build (dist/m), the console's API client and sign-in code, Vant
// components imported where a template uses them. The service worker caches every file of the
// app (no CDN), so it opens without signal; it never caches the APIs (the app keeps what it
// needs offline in IndexedDB: src/mobile/db.ts).
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))

export default defineConfig({
  root: here('./m'),
  base: '/m/',
  // The console's public files (the county's names of places, the icon) are the app's too.
  publicDir: here('./public'),
  plugins: [
    vue(),
    Components({ resolvers: [VantResolver()], dts: false }),
    VitePWA({
      registerType: 'autoUpdate',
      injectRegister: false,
      scope: '/m/',
      manifest: {
        name: '守护 · 结对帮扶',
        short_name: '守护',
        lang: 'zh-CN',
        start_url: '/m/',
        scope: '/m/',
        display: 'standalone',
        background_color: '#f7f8fa',
        theme_color: '#1f62c4',
        icons: [{ src: 'favicon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' }],
      },
      workbox: {
        globPatterns: ['**/*.{js,css,html,svg,woff2,json}'],
        navigateFallback: '/m/index.html',
        navigateFallbackAllowlist: [/^\/m\//],
        cleanupOutdatedCaches: true,
      },
    }),
  ],
  build: {
    outDir: here('./dist/m'),
    emptyOutDir: true,
    target: 'es2020',
  },
  server: {
    proxy: Object.fromEntries(['registry', 'pairing', 'visits', 'notify', 'dev-tokens.json', 'divisions.json'].map(
      (p) => [`/${p}`, { target: process.env.SHOUHU_GATEWAY ?? 'http://127.0.0.1:8080' }])),
  },
})
