import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import Components from 'unplugin-vue-components/vite'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'

// Element Plus components (and their styles) are imported where a template uses them, so a
// route carries only what it shows; ECharts is imported by component in src/components/Chart.vue.
export default defineConfig({
  plugins: [
    vue(),
    Components({ resolvers: [ElementPlusResolver({ importStyle: 'css' })], dts: false }),
  ],
  base: '/',
  build: {
    target: 'es2020',
    chunkSizeWarningLimit: 700,
    rollupOptions: {
      output: {
        // One chunk for ECharts: only the dashboard loads it.
        manualChunks(id) {
          if (id.includes('node_modules/echarts') || id.includes('node_modules/zrender')) return 'echarts'
        },
      },
    },
  },
  server: {
    // `npm run dev` beside a running stack: the APIs through the gateway.
    proxy: Object.fromEntries(['registry', 'pairing', 'visits', 'notify', 'dev-tokens.json'].map(
      (p) => [`/${p}`, { target: process.env.SHOUHU_GATEWAY ?? 'http://127.0.0.1:8080' }])),
  },
})
