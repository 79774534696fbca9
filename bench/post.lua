-- wrk: POST the JSON body in the BODY environment variable; report the first failure seen.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = os.getenv("AUTH") or "Bearer bench"
wrk.body = os.getenv("BODY")

local reported = false
response = function(status, headers, body)
  if status ~= 200 and not reported then
    reported = true
    io.stderr:write("first failure: " .. status .. " " .. string.sub(body or "", 1, 300) .. "\n")
  end
end
