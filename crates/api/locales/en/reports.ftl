# Report tables (CSV), English. Ids: heading-<column>; label-<key> (what a row is about: the JSON
# report's key, `_` and `.` as `-`); note-withheld with $cells and $threshold. English
# definitions are the reports' own (crates/reporting); ../zh-CN/reports.ftl has every id here and
# the definitions (crates/api/src/i18n.rs tests it).

## Headings

heading-figure = Figure
heading-value = Value
heading-definition = Definition
heading-section = Section
heading-key = Item
heading-events = Events
heading-children = Children
heading-dimension = Dimension
heading-score-1 = Score 1
heading-score-2 = Score 2
heading-score-3 = Score 3
heading-score-4 = Score 4
heading-score-5 = Score 5
heading-mean = Mean score
heading-mean-change = Mean change
heading-rule = Rule
heading-breakdown = Breakdown
heading-active = Active
heading-met = Met
heading-missed = Missed
heading-exempt = Exempt
heading-share-met = Share met
heading-at-risk = At risk
heading-region-id = Region id

## Labels: the summary's figures

label-children-registered = Children registered
label-families-phoned = Families phoned
label-children-visited = Children visited
label-events-held = Events held
label-children-attending-events = Children attending events
label-volunteers-active = Volunteers active
label-volunteer-hours = Volunteer hours
label-children-assessed = Children assessed
label-by-category = By category
label-by-village = By village

## Labels: categories of children

label-orphaned-or-disabled = Orphaned or disabled
label-left-behind = Left-behind
label-in-difficulty = In difficulty

## Labels: the events report

label-type = Event type
label-programme = Programme
label-service-form = Service form
label-region = Region
label-village-reached = Village reached
label-total = Total
label-children-of-region-attending-anywhere = Children of the region attending anywhere
label-quarterly-theme = Quarterly theme event
label-care = Care event
label-visit-and-comfort = Visit and comfort
label-mental-health-consultation = Mental-health consultation
label-other = Other
label-one-plus-one = "1+1" care and comfort
label-five-plus-n = "5+N" escort
label-one-plus-n = "1+N" heart care
label-psychological-counselling = Psychological counselling
label-traditional-culture-education = Traditional culture education
label-traditional-skills-teaching = Traditional skills teaching
label-family-education-guidance = Family education guidance
label-gratitude-education = Gratitude education
label-sports-teaching = Sports teaching
label-proxy-parenting = Proxy parenting
label-reading-companionship = Reading companionship
label-interactive-games = Interactive games
label-handicrafts = Handicrafts
label-hand-painting = Hand painting

## Labels: assessment dimensions

label-living-conditions = Living conditions
label-psychological-state = Psychological state
label-study = Study
label-social-development = Social development

## Labels: the compliance report

label-period = Period
label-mentor-organisation = Mentor's organisation
label-now = Now
label-home-visits = Holiday home visits
label-requests = Requests
label-pending = Pending
label-approved = Approved
label-completed = Completed
label-expired = Expired
label-recorded-late = Recorded late
label-rejected = Rejected
label-cancelled = Cancelled

## Withheld cells

label-note = Note
note-withheld = { $cells } cells are empty: each rests on fewer than { $threshold } children, or would let such a figure be worked out

## Workbooks (.xlsx): the title and the block that says what a workbook covers

label-workbook-summary = Programme summary
label-workbook-events = Events report
label-workbook-assessments = Assessments report
label-workbook-compliance = Contact compliance report
label-workbook-period = Period
label-workbook-first-record = from the first record
label-workbook-today = today
label-workbook-region = Region
label-workbook-everywhere = everywhere the reader may see
label-workbook-generated-at = Generated at
label-workbook-data-as-of = Data as of

## The children's workbook (GET /api/v1/children.xlsx)

heading-case-number = Case number
heading-name = Name
heading-sex = Sex
heading-birth-date = Date of birth
heading-national-id = National ID number
heading-categories = Categories
heading-village = Village or community
heading-school = School
heading-status = Case status
heading-registered-on = Registered on
heading-closed-on = Closed on
heading-health-notes = Health notes
heading-disability-notes = Disability notes
heading-household-id = Household id
heading-child-id = Child id
label-export-children = Children
label-female = Female
label-male = Male
label-screening = Screening
label-registered = Registered
label-active = Receiving services
label-closed = Closed

## The contacts' workbook (GET /api/v1/contacts.xlsx)

heading-occurred-at = When
heading-kind = Kind
heading-outcome = Outcome
heading-child = Child
heading-notes = Notes
heading-made-by = Made by (user id)
heading-contact-id = Contact id
label-export-contacts = Contacts
label-phone-visit = Phone visit
label-home-visit = Home visit
label-school-visit = School visit
label-centre-visit = Centre visit
label-not-reached = Not reached

## The households' workbook (GET /api/v1/households.xlsx)

heading-address = Address
heading-parents-work-away = Parents work away
heading-guardian = Guardian to reach first
heading-relation = Relation to the child
heading-phone = Phone
heading-other-guardians = Other guardians
heading-recorded-on = Recorded on
label-export-households = Households
label-yes = Yes
label-no = No
label-father = Father
label-mother = Mother
label-grandfather = Grandfather
label-grandmother = Grandmother
label-sibling = Sibling
label-other-relative = Other relative
label-foster-parent = Foster parent
label-institution = Welfare institution

## The home-visit requests' workbook (GET /api/v1/home-visit-requests.xlsx)

heading-leaves-at = Leaves at
heading-returns-at = Returns at
heading-request-status = Status
heading-transport = Transport
heading-supervisor = Supervising adult
heading-emergency-contact-name = Emergency contact
heading-emergency-contact-phone = Emergency contact's phone
heading-consent-given-by = Consent given by
heading-consent-given-at = Consent given at
heading-checklist-completed-at = Safety checklist completed at
heading-decided-at = Approved, rejected or cancelled at
heading-decision-reason = Reason for rejecting or cancelling
heading-returned-at = Returned at
heading-late-reason = Why recorded late
heading-requested-by = Requested by (user id)
heading-decided-by = Approved, rejected or cancelled by (user id)
heading-pairing-id = Pairing id
heading-request-id = Request id
label-export-home-visit-requests = Holiday home-visit requests
label-requested = Requested
label-consented = Consented
