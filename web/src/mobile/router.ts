import { createRouter, createWebHistory } from 'vue-router'
import { restore, session } from '../session'
// 我的孩子 comes with the app's first file: opening the app waits for no second request.
import Children from './views/Children.vue'

// Each other screen is its own chunk, loaded when first opened.
export const router = createRouter({
  history: createWebHistory('/m/'),
  routes: [
    { path: '/sign-in', name: 'sign-in', component: () => import('./views/SignIn.vue'), meta: { title: '登录', public: true } },
    { path: '/callback', name: 'callback', component: () => import('./views/Callback.vue'), meta: { title: '登录', public: true } },
    { path: '/', name: 'children', component: Children, meta: { title: '我的孩子', tab: true } },
    { path: '/children/:id', name: 'child', component: () => import('./views/ChildCard.vue'), meta: { title: '孩子的联系卡' } },
    { path: '/children/:id/family', name: 'family', component: () => import('./views/FamilyNote.vue'), meta: { title: '家书' } },
    { path: '/plans/:id', name: 'plan', component: () => import('./views/PlanReview.vue'), meta: { title: '帮扶计划回顾' } },
    { path: '/due', name: 'due', component: () => import('./views/Due.vue'), meta: { title: '待办', tab: true } },
    { path: '/record', name: 'record', component: () => import('./views/Record.vue'), meta: { title: '记录', tab: true } },
    { path: '/inbox', name: 'inbox', component: () => import('./views/Inbox.vue'), meta: { title: '消息', tab: true } },
    { path: '/:rest(.*)*', redirect: '/' },
  ],
})

router.beforeEach((to) => {
  restore()
  if (to.meta.public) return true
  if (!session.token) return { name: 'sign-in', query: to.fullPath === '/' ? {} : { next: to.fullPath } }
  return true
})

router.afterEach((to) => {
  document.title = `${to.meta.title ?? ''} · 守护`
})
