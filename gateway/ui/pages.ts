/** Trino Gateway's UI page names (`uiConfiguration.disablePages`, `pagePermissions`); the web UI uses the same ids. */
export const uiPages = [
  'dashboard',
  'cluster',
  'resource-group',
  'selector',
  'history',
  'routing-rules',
] as const
export type UiPage = (typeof uiPages)[number]
