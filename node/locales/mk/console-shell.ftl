# Рамката на конзолата: навигација, најава, одјава, сесија, поставки.

# Датум и време: jiff strftime образец, во временската зона на сметката.
shell-date-format = %d.%m.%Y %H:%M %Z
shell-day-format = %d.%m.%Y
shell-skip = Скокни до содржината
shell-nav-label = Главно мени
shell-nav-inbox = Приемно сандаче
shell-nav-cases = Случаи
shell-nav-compose = Ново упатување
shell-nav-directory = Именик
shell-nav-coordinator = Ревизија
shell-nav-admin = Администрација
shell-nav-settings = Мои поставки
shell-sign-out = Одјави се
shell-session-warning = Вашата сесија завршува за 2 минути бидејќи ништо не е направено. Незачуваниот внес ќе се изгуби.
shell-stay-signed-in = Остани најавен

shell-sign-in-title = Најава
shell-sign-in = Најави се
shell-name = Име
shell-password = Лозинка
shell-language = Јазик
shell-error-credentials = Погрешно име или лозинка.
shell-error-code = Погрешен или веќе искористен код. Обидете се со следниот код од апликацијата.
shell-error-locked = Премногу погрешни обиди: оваа сметка е заклучена до { $until }. Обратете се до администраторот ако ви треба порано.
shell-code-title = Вашиот еднократен код
shell-code = Еднократен код
shell-code-hint = 6-те цифри што сега ги прикажува вашата апликација за автентикација.
shell-start-again = Започнете повторно со име и лозинка

shell-signed-out-title = Одјавени сте
shell-signed-out-text = Одјавени сте. Затворете го прелистувачот ако ова е заеднички компјутер.
shell-signed-out-idle = Бевте одјавени бидејќи некое време ништо не беше направено.
shell-signed-out-expired = Вашата сесија истече. Ве молиме најавете се повторно.
shell-signed-out-password = Вашата лозинка е променета. Најавете се со новата.
shell-sign-in-again = Најавете се повторно

shell-settings-title = Мои поставки
shell-settings-preferences = Јазик и временска зона
shell-settings-language = Јазик
shell-settings-language-default = Како што вели мојот прелистувач
shell-settings-time-zone = Временска зона
shell-settings-time-zone-hint = Име како Europe/Vienna или Europe/Skopje. Празно: UTC.
shell-settings-save = Зачувај
shell-settings-saved = Зачувано.
shell-settings-bad-language = Овој јазик не е понуден.
shell-settings-bad-time-zone = Оваа временска зона не е позната. Користете име како Europe/Vienna.
shell-settings-password = Лозинка
shell-settings-current-password = Тековна лозинка
shell-settings-new-password = Нова лозинка
shell-settings-new-password-again = Повторете ја новата лозинка
shell-settings-password-hint = Најмалку 12 знаци.
shell-settings-change-password = Промени лозинка
shell-settings-wrong-password = Тековната лозинка е погрешна.
shell-settings-passwords-differ = Двете нови лозинки не се исти.
shell-settings-password-refused = Оваа лозинка не е прифатена: { $reason }
shell-settings-totp = Втор фактор (еднократни кодови)
shell-settings-totp-on = Вториот фактор е вклучен: најавата бара код од вашата апликација.
shell-settings-totp-off = Нема поставено втор фактор. Со него, најавата бара и код од апликација за автентикација.
shell-settings-totp-begin = Постави втор фактор
shell-settings-totp-secret = Внесете го овој клуч во апликацијата за автентикација (или отворете ја врската на телефонот), па напишете го кодот што таа го прикажува.
shell-settings-totp-link = Врска за апликација за автентикација
shell-settings-totp-confirm = Вклучи
shell-settings-totp-remove = Исклучи го вториот фактор
shell-settings-totp-wrong = Погрешен код: вториот фактор не е вклучен. Обидете се повторно со кодот што апликацијата сега го прикажува.
shell-settings-totp-done = Вториот фактор е вклучен.
shell-settings-totp-removed = Вториот фактор е исклучен.
