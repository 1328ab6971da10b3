-- Argo CD health check for redis.github.com/RedisInstance.
--
-- Delivered as the argocd-cm key
--   resource.customizations.health.redis.github.com_RedisInstance
-- Argo CD runs it with the live object in the global `obj` and reads the returned
-- table {status, message}. The status is the reconciler's, so the health view tells
-- the truth about each Redis:
--   no status yet                          -> Progressing (the reconciler has not run)
--   observedGeneration < generation        -> Progressing (the spec changed since)
--   Running and ready                      -> Healthy
--   Running but not ready                  -> Progressing
--   Creating, Updating, Pending            -> Progressing
--   Terminated (being deleted)             -> Progressing
--   Failed                                 -> Degraded
--   Unknown or no phase                    -> from the Ready/Degraded conditions, else Unknown
--   failover instances, Running or Pending, with PrimaryAvailable False (no pod labelled
--   primary and ready, or several)         -> Degraded, with that condition's message
-- The reconciler's message is passed through.
--
-- Argo CD runs Lua 5.1 (gopher-lua): no goto, no integer division, numbers are floats.

local hs = {}

local function condition(status, conditionType)
  if status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == conditionType then
      return c
    end
  end
  return nil
end

local function withMessage(status, default)
  if status.message ~= nil and status.message ~= "" then
    return status.message
  end
  return default
end

local status = obj.status
if status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the redis-gitops reconciler to report status"
  return hs
end

local generation = nil
if obj.metadata ~= nil then
  generation = obj.metadata.generation
end
local observed = status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  local seen = "no generation"
  if observed ~= nil then
    seen = "generation " .. string.format("%d", observed)
  end
  hs.message = "Waiting for the reconciler to observe generation " .. string.format("%d", generation)
    .. " (status describes " .. seen .. ")"
  if status.message ~= nil and status.message ~= "" then
    hs.message = hs.message .. ": " .. status.message
  end
  return hs
end

local phase = status.phase
-- Failover: pods that run but no (single) primary to write to is an outage, whatever the phase says.
local primary = condition(status, "PrimaryAvailable")
if primary ~= nil and primary.status == "False" and (phase == "Running" or phase == "Pending") then
  hs.status = "Degraded"
  hs.message = primary.message or "No primary"
  return hs
end

if phase == "Running" then
  if status.ready == true then
    hs.status = "Healthy"
    hs.message = withMessage(status, "Running")
  else
    hs.status = "Progressing"
    hs.message = withMessage(status, "Running, not all replicas are ready")
  end
elseif phase == "Creating" or phase == "Updating" or phase == "Pending" then
  hs.status = "Progressing"
  hs.message = withMessage(status, phase)
elseif phase == "Terminated" then
  hs.status = "Progressing"
  hs.message = withMessage(status, "Being deleted")
elseif phase == "Failed" then
  hs.status = "Degraded"
  hs.message = withMessage(status, "Failed")
elseif phase == nil or phase == "Unknown" then
  local degraded = condition(status, "Degraded")
  local ready = condition(status, "Ready")
  if degraded ~= nil and degraded.status == "True" then
    hs.status = "Degraded"
    hs.message = withMessage(status, degraded.message or "Degraded")
  elseif ready ~= nil and ready.status == "True" then
    hs.status = "Healthy"
    hs.message = withMessage(status, ready.message or "Ready")
  else
    hs.status = "Unknown"
    hs.message = withMessage(status, "The reconciler reports no phase")
  end
else
  hs.status = "Unknown"
  hs.message = "Unknown phase " .. tostring(phase) .. ": " .. withMessage(status, "no message")
end
return hs
