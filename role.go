package assent

import "fmt"

// Role is what a user or API key may do within its account (SPEC §6).
type Role string

// The roles, from most to least powerful; Collector is for API keys that
// may only submit participations.
const (
	RoleAdmin     Role = "admin"
	RoleMarketer  Role = "marketer"
	RoleEditor    Role = "editor"
	RoleObserver  Role = "observer"
	RoleCollector Role = "collector"
)

// Roles lists every role in order.
var Roles = []Role{RoleAdmin, RoleMarketer, RoleEditor, RoleObserver, RoleCollector}

// UserRoles lists the roles a user (a person signing in) can hold.
var UserRoles = []Role{RoleAdmin, RoleMarketer, RoleEditor, RoleObserver}

// ParseRole returns the role named s, or an error listing the valid ones.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown role %q: want one of admin, marketer, editor, observer, collector", s)
}

// Action is something a role may or may not do.
type Action int

// The actions of SPEC §6, plus ReadContent: reading opt-ins, subcategories
// and campaigns, which every role but collector may do.
const (
	ManageAccount Action = iota + 1 // users, API keys, account settings
	ManageWebhooks
	ManageSubcategories
	ManageOptins
	ManageCampaigns
	ReadContent
	ReadStats // campaign dashboards, opt-in stats, audiences
	ReadGlobalStats
	ManageParticipants // proof, withdrawal on behalf
	EraseParticipants
	SubmitParticipations
)

var permissions = map[Action][]Role{
	ManageAccount:        {RoleAdmin},
	ManageWebhooks:       {RoleAdmin},
	ManageSubcategories:  {RoleAdmin, RoleMarketer},
	ManageOptins:         {RoleAdmin, RoleMarketer},
	ManageCampaigns:      {RoleAdmin, RoleMarketer, RoleEditor},
	ReadContent:          {RoleAdmin, RoleMarketer, RoleEditor, RoleObserver},
	ReadStats:            {RoleAdmin, RoleMarketer, RoleEditor, RoleObserver},
	ReadGlobalStats:      {RoleAdmin, RoleMarketer},
	ManageParticipants:   {RoleAdmin, RoleMarketer},
	EraseParticipants:    {RoleAdmin},
	SubmitParticipations: {RoleAdmin, RoleMarketer, RoleEditor, RoleCollector},
}

// Can reports whether role r may perform action a.
func (r Role) Can(a Action) bool {
	for _, allowed := range permissions[a] {
		if allowed == r {
			return true
		}
	}
	return false
}
