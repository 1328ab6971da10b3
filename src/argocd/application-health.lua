-- Argo CD health check for argoproj.io/Application, used by the app-of-apps layout.
--
-- Delivered as the argocd-cm key
--   resource.customizations.health.argoproj.io_Application
-- Since Argo CD 1.8 an Application's health is no longer assessed by its parent, so a
-- parent's sync waves would not wait for a child application to be healthy. With this
-- check the root application waits for the platform application (CRD, reconciler)
-- before it syncs the applications that hold RedisInstances.
--
-- Lua 5.1 (gopher-lua), the global `obj` is the child Application.

local hs = {}
hs.status = "Progressing"
hs.message = "Waiting for the application to report health"
if obj.status ~= nil and obj.status.health ~= nil and obj.status.health.status ~= nil then
  hs.status = obj.status.health.status
  hs.message = obj.status.health.message or ""
end
return hs
