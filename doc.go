// Package assent holds Assent's domain: accounts, roles, categories,
// subcategories, opt-ins and campaigns, with the validation rules of the
// product specification. It knows nothing of SQL or HTTP; the store and
// server packages build on it.
package assent
