package main

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestJSONErrorNamesGoTypes: a body of the wrong type was answered with
// encoding/json's error text, which names the service's Go types and
// fields ("Go struct field saleInput.user_id of type int64"). It says what
// the field must be, in JSON's words, now.
func TestJSONErrorNamesGoTypes(t *testing.T) {
	c := startServiceWith(t, "sqlite", "simple://", func(cfg *Config) { cfg.WarmEvery, cfg.PurgeEvery = 0, 0 })
	for _, tc := range []struct{ path, body, want string }{
		{"/api/sales", `{"user_id":"7","amount":1}`, "user_id must be an integer"},
		{"/api/sales", `{"user_id":7.5,"amount":1}`, "user_id must be an integer in range"},
		{"/api/sales", `{"user_id":1e30,"amount":1}`, "user_id must be an integer in range"},
		{"/api/sales", `{"user_id":7,"amount":"1"}`, "amount must be a number"},
		{"/api/sales", `{"user_id":7,"amount":1e400}`, "amount must be a number in range"},
		{"/api/sales", `{"user_id":7,"amount":true}`, "amount must be a number"},
		{"/api/orders", `{"user_id":7,"product_id":"1","quantity":1}`, "product_id must be an integer"},
		{"/api/orders", `{"user_id":7,"product_id":1,"quantity":[1]}`, "quantity must be a number"},
		{"/products", `{"name":1,"price":1,"category_id":1}`, "name must be a string"},
		{"/products", `{"name":{"a":1},"price":1,"category_id":1}`, "name must be a string"},
		{"/api/reports", `{"user_id":7,"month":202611}`, "month must be a string"},
		{"/api/reports", `[1, 2]`, "the body must be a JSON object"},
		{"/api/reports", `"2026-11"`, "the body must be a JSON object"},
		{"/api/reports", `{"user_id":7,"month":"2026-11","x":1}`, `unknown field "x"`},
		{"/api/reports", `{"user_id":7,`, "the JSON ends early"},
		{"/api/reports", `{"user_id":7 "month":"2026-11"}`, "not valid JSON at byte 14"},
		{"/api/reports", `{} {}`, "trailing data after the JSON object"},
	} {
		r := c.do("POST", tc.path, tc.body)
		assert.Equal(t, http.StatusBadRequest, r.status, "%s %s: %s", tc.path, tc.body, r.body)
		var e struct{ Error string }
		r.json(t, &e)
		assert.Equal(t, "malformed JSON body: "+tc.want, e.Error, "%s %s", tc.path, tc.body)
		for _, leak := range []string{"Go struct field", "Input", "int64", "float64", "json:"} {
			assert.NotContains(t, e.Error, leak, "%s %s", tc.path, tc.body)
		}
	}
	// An empty body.
	r := c.do("PUT", "/products/1", "", "Content-Type: application/json")
	assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	assert.Contains(t, string(r.body), "malformed JSON body: the body is empty")
}
