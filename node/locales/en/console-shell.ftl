# The console's frame: navigation, sign-in, sign-out, the session, settings.

# Dates and times: jiff strftime pattern, in the account's time zone.
shell-date-format = %Y-%m-%d %H:%M %Z
shell-day-format = %Y-%m-%d
shell-skip = Skip to the content
shell-nav-label = Main menu
shell-nav-inbox = Inbox
shell-nav-cases = Cases
shell-nav-compose = New referral
shell-nav-directory = Directory
shell-nav-coordinator = Audit
shell-nav-admin = Administration
shell-nav-settings = My settings
shell-sign-out = Sign out
shell-session-warning = Your session ends in 2 minutes because nothing was done. Unsaved input will be lost.
shell-stay-signed-in = Stay signed in

shell-sign-in-title = Sign in
shell-sign-in = Sign in
shell-name = Name
shell-password = Password
shell-language = Language
shell-error-credentials = Wrong name or password.
shell-error-code = Wrong or already used code. Try the next code from your app.
shell-error-locked = Too many wrong attempts: this account is locked until { $until }. Ask your administrator if you need it sooner.
shell-code-title = Your one-time code
shell-code = One-time code
shell-code-hint = The 6 digits your authenticator app shows now.
shell-start-again = Start again with your name and password

shell-signed-out-title = Signed out
shell-signed-out-text = You are signed out. Close the browser if this is a shared computer.
shell-signed-out-idle = You were signed out because nothing was done for a while.
shell-signed-out-expired = Your session has ended. Please sign in again.
shell-signed-out-password = Your password was changed. Please sign in with the new one.
shell-sign-in-again = Sign in again

shell-settings-title = My settings
shell-settings-preferences = Language and time zone
shell-settings-language = Language
shell-settings-language-default = As my browser says
shell-settings-time-zone = Time zone
shell-settings-time-zone-hint = A name such as Europe/Vienna or Europe/Belgrade. Empty: UTC.
shell-settings-save = Save
shell-settings-saved = Saved.
shell-settings-bad-language = This language is not offered.
shell-settings-bad-time-zone = This time zone is not known. Use a name such as Europe/Vienna.
shell-settings-password = Password
shell-settings-current-password = Current password
shell-settings-new-password = New password
shell-settings-new-password-again = New password again
shell-settings-password-hint = At least 12 characters.
shell-settings-change-password = Change password
shell-settings-wrong-password = The current password is wrong.
shell-settings-passwords-differ = The two new passwords are not the same.
shell-settings-password-refused = This password is not accepted: { $reason }
shell-settings-totp = Second factor (one-time codes)
shell-settings-totp-on = A second factor is on: signing in asks for a code from your app.
shell-settings-totp-off = No second factor is set. With one, signing in also asks for a code from an authenticator app.
shell-settings-totp-begin = Set up a second factor
shell-settings-totp-secret = Enter this key in your authenticator app (or open the link on your phone), then type the code it shows.
shell-settings-totp-link = Link for an authenticator app
shell-settings-totp-confirm = Turn on
shell-settings-totp-remove = Turn off the second factor
shell-settings-totp-wrong = Wrong code: the second factor is not on. Try again with the code the app shows now.
shell-settings-totp-done = The second factor is on.
shell-settings-totp-removed = The second factor is off.
