-- wrk script: password login of one user, JSON body.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"bench","password":"bench-password-1"}'
wrk.path = "/auth/token/"
