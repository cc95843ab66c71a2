package store_test

import (
	"context"
	"testing"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/store/storetest"
)

func TestCampaignByID(t *testing.T) {
	t.Parallel()
	f := newFormFixture(t)
	ctx := context.Background()
	storetest.Account(t, f.s, "other")
	c, err := f.s.CampaignByID(ctx, f.campaign.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.AccountID != f.account.ID || len(c.Optins) != 4 || c.Optins[0] != f.newsletter.ID {
		t.Errorf("got account %s and form %v, want %s and %v", c.AccountID, c.Optins, f.account.ID, f.campaign.Optins)
	}
	if _, err := f.s.CampaignByID(ctx, "cmp_nope"); assent.ErrorCode(err) != assent.ENOTFOUND {
		t.Errorf("unknown id: got %v, want not_found", err)
	}
}
