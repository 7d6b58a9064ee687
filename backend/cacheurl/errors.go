package cacheurl

import "errors"

// ErrInvalidURL is wrapped by every error Open and Options return: the URL
// is malformed, names an unknown scheme or parameter, has a value out of
// range, or names a directory or host that cannot be used. Test for it with
// errors.Is; errors.As with *Error tells which part is wrong.
var ErrInvalidURL = errors.New("cacheurl: invalid cache URL")

// Error reports what is wrong with a cache URL: the part, and why. It never
// holds the URL itself or a password, so it is safe to log.
type Error struct {
	// Part is the part of the URL that is wrong: "url" (the whole of it),
	// "scheme", "user", "host", "path", "query" (the query string does not
	// parse), "parameter" (then Param names it) or "options" (the backend
	// refused the combination of values; Err says why).
	Part string
	// Param is the name of the parameter that is wrong, when Part is
	// "parameter". It is "" for a name that no scheme reads in a URL that
	// holds a password (as userinfo or a parameter): a raw '&' in a password
	// makes the rest of it read as such a name, so that it is not shown.
	Param string
	// Reason says what is wrong and what is wanted.
	Reason string
	// Err is the cause another package reported (a backend's own check, an
	// operating-system error), or nil.
	Err error
}

// Error returns "cacheurl: <part>: <reason>[: <cause>]", where the part of
// a parameter is "parameter <name>", or "an unknown parameter" when Param
// is "".
func (e *Error) Error() string {
	where := e.Part
	if e.Part == "parameter" {
		where = "parameter " + e.Param
		if e.Param == "" {
			where = "an unknown parameter"
		}
	}
	s := "cacheurl: " + where + ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns ErrInvalidURL and the cause, if any.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalidURL, e.Err}
	}
	return []error{ErrInvalidURL}
}

// invalid returns an *Error for part.
func invalid(part, reason string) *Error {
	return &Error{Part: part, Reason: reason}
}

// invalidParam returns an *Error for the parameter name.
func invalidParam(name, reason string) *Error {
	return &Error{Part: "parameter", Param: name, Reason: reason}
}
