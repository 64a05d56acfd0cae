import { createRouter, createWebHistory } from 'vue-router'
import { isStaff, restore, session } from './session'

// Every page is its own chunk: the first route loads only the layout and sign-in.
export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/sign-in', name: 'sign-in', component: () => import('./views/SignIn.vue'), meta: { title: '登录', public: true } },
    { path: '/callback', name: 'callback', component: () => import('./views/Callback.vue'), meta: { title: '登录', public: true } },
    {
      path: '/',
      component: () => import('./layouts/ConsoleLayout.vue'),
      children: [
        { path: '', name: 'dashboard', component: () => import('./views/Dashboard.vue'), meta: { title: '工作台', staff: true } },
        { path: 'children', name: 'children', component: () => import('./views/Children.vue'), meta: { title: '儿童信息', staff: true } },
        {
          path: 'children/new', name: 'child-new', component: () => import('./views/ChildRegister.vue'),
          meta: { title: '新增儿童', parent: 'children', staff: true },
        },
        {
          path: 'children/:id', name: 'child', component: () => import('./views/ChildDetail.vue'),
          meta: { title: '儿童档案', parent: 'children', staff: true },
        },
        { path: 'work/overdue', name: 'overdue', component: () => import('./views/Overdue.vue'), meta: { title: '逾期任务', staff: true } },
        { path: 'pairing', name: 'pairing', component: () => import('./views/Pairing.vue'), meta: { title: '结对帮扶', staff: true } },
        { path: 'work/activities', name: 'activities', component: () => import('./views/Activities.vue'), meta: { title: '集体活动', staff: true } },
        { path: 'work/concerns', name: 'concerns', component: () => import('./views/Concerns.vue'), meta: { title: '关注事项', staff: true } },
        { path: 'work/notices', name: 'notices', component: () => import('./views/Notices.vue'), meta: { title: '通知与配置', staff: true } },
        { path: 'reports', name: 'reports', component: () => import('./views/Reports.vue'), meta: { title: '报表', staff: true } },
        { path: 'admin', name: 'admin', component: () => import('./views/Admin.vue'), meta: { title: '系统设置', staff: true } },
        { path: 'imports', name: 'imports', component: () => import('./views/Imports.vue'), meta: { title: '批量导入', staff: true } },
        { path: 'mine', name: 'mine', component: () => import('./views/MyWork.vue'), meta: { title: '我的帮扶' } },
      ],
    },
    { path: '/:rest(.*)*', name: 'not-found', component: () => import('./views/NotFound.vue'), meta: { title: '页面不存在', public: true } },
  ],
})

router.beforeEach((to) => {
  restore()
  if (to.meta.public) return true
  if (!session.token) return { name: 'sign-in', query: { next: to.fullPath } }
  if (to.meta.staff && !isStaff(session.person)) return { name: 'mine' }
  return true
})

router.afterEach((to) => {
  document.title = `${to.meta.title ?? ''} · 守护`
})
