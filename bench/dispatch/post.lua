-- wrk script: POST {"msg":"hi"} as JSON to the URL given on the command line.
wrk.method = "POST"
wrk.body   = '{"msg":"hi"}'
wrk.headers["Content-Type"] = "application/json"
