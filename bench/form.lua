-- wrk script: POST a form body taken from $BODY, with $AUTH as the Authorization header.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = os.getenv("AUTH")
wrk.body = os.getenv("BODY")
