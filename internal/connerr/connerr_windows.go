package connerr

// brokenErrnos and refusedErrnos are Broken's and Refused's errors:
// Windows Sockets' (see WindowsBroken, WindowsRefused).
var (
	brokenErrnos  = WindowsBroken
	refusedErrnos = WindowsRefused
)
