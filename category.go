package assent

// Category is one of the four fixed purposes an opt-in serves (SPEC §2).
type Category struct {
	Key  string `json:"key"`
	Name string `json:"name"`
}

// The category keys.
const (
	CategoryNewsletterMarketing = "newsletter_marketing"
	CategoryLegal               = "legal"
	CategoryPartners            = "partners"
	CategoryOthers              = "others"
)

// Categories lists the four categories in their fixed order.
var Categories = []Category{
	{Key: CategoryNewsletterMarketing, Name: "Newsletter & marketing"},
	{Key: CategoryLegal, Name: "Legal & regulations"},
	{Key: CategoryPartners, Name: "Partners"},
	{Key: CategoryOthers, Name: "Others"},
}

// CategoryByKey returns the category with the given key.
func CategoryByKey(key string) (Category, bool) {
	for _, c := range Categories {
		if c.Key == key {
			return c, true
		}
	}
	return Category{}, false
}

// CategoryIndex returns the position of key in Categories, or -1.
func CategoryIndex(key string) int {
	for i, c := range Categories {
		if c.Key == key {
			return i
		}
	}
	return -1
}
