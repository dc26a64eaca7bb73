# Error pages.
error-home = Go to the start page
error-detail = What the node said:
error-forbidden-title = Not allowed
error-forbidden-text = Your account may not open this page or do this. Ask your administrator if you need it.
error-csrf-title = Form refused
error-csrf-text = This form could not be accepted: it has expired or did not come from this console. Nothing was changed. Go back, reload the page and send it again.
error-not-found-title = Page not found
error-not-found-text = There is nothing at this address.
error-bad-request-title = Request not understood
error-bad-request-text = The request could not be understood. Nothing was changed.
error-unavailable-title = Not available now
error-unavailable-text = The node cannot answer now (its storage is busy or full). Nothing was changed. Try again later, and tell your administrator if it persists.
error-internal-title = Something went wrong
error-internal-text = Something went wrong inside the node. Nothing was changed. Tell your administrator.
