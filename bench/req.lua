-- wrk script: one fixed request from the environment: METHOD (GET), CTYPE, AUTH (the
-- Authorization header) and BODY, each optional.
wrk.method = os.getenv("METHOD") or "GET"
if os.getenv("CTYPE") then wrk.headers["Content-Type"] = os.getenv("CTYPE") end
if os.getenv("AUTH") then wrk.headers["Authorization"] = os.getenv("AUTH") end
if os.getenv("BODY") then wrk.body = os.getenv("BODY") end
