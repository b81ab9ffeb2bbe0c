# 报表（CSV）的中文用语。编号：heading-<列>；label-<键>（行所指的内容：即 JSON 报表的键，`_` 与 `.`
# 写作 `-`）；definition-<键>（统计口径）；note-withheld（参数 $cells、$threshold）。
# 每个编号都须在 ../en/reports.ftl 中也有（口径除外：英文口径即报表本身的）；crates/api/src/i18n.rs 有测试。

## 列标题

heading-figure = 指标
heading-value = 数值
heading-definition = 统计口径
heading-section = 类别
heading-key = 项目
heading-events = 活动场次
heading-children = 儿童人数
heading-dimension = 维度
heading-score-1 = 1 分
heading-score-2 = 2 分
heading-score-3 = 3 分
heading-score-4 = 4 分
heading-score-5 = 5 分
heading-mean = 平均分
heading-mean-change = 平均变化
heading-rule = 规则
heading-breakdown = 分组
heading-active = 应联系
heading-met = 已达标
heading-missed = 未达标
heading-exempt = 豁免
heading-share-met = 达标率
heading-at-risk = 将逾期
heading-region-id = 区域编号

## 汇总表的指标

label-children-registered = 建档立卡儿童数
label-families-phoned = 电话访问家庭数
label-children-visited = 走访服务儿童数
label-events-held = 举办活动场次
label-children-attending-events = 参加活动儿童数
label-volunteers-active = 参与志愿者人数
label-volunteer-hours = 志愿服务时长（小时）
label-children-assessed = 接受评估儿童数
label-by-category = 按儿童类别
label-by-village = 按村（社区）

## 儿童类别

label-orphaned-or-disabled = 孤残儿童
label-left-behind = 留守儿童
label-in-difficulty = 困境儿童

## 活动报表

label-type = 活动类型
label-programme = 行动
label-service-form = 服务形式
label-region = 区域
label-village-reached = 覆盖村（社区）
label-total = 合计
label-children-of-region-attending-anywhere = 本区域参加各地活动的儿童数
label-quarterly-theme = 季度主题活动
label-care = 关爱活动
label-visit-and-comfort = 探访慰问活动
label-mental-health-consultation = 心理健康咨询活动
label-other = 其他
label-one-plus-one = “1+1”护“慰”行动
label-five-plus-n = “5+N”护航行动
label-one-plus-n = “1+N”护心行动
label-psychological-counselling = 心理辅导
label-traditional-culture-education = 传统文化教育
label-traditional-skills-teaching = 传统技能教学
label-family-education-guidance = 家庭教育指导
label-gratitude-education = 感恩教育
label-sports-teaching = 体育项目教学
label-proxy-parenting = 代理家长
label-reading-companionship = 伴读活动
label-interactive-games = 互动游戏
label-handicrafts = 制作手工艺品
label-hand-painting = 手绘活动

## 评估维度

label-living-conditions = 生活现状
label-psychological-state = 心理状况
label-study = 学习状况
label-social-development = 社会发展状况

## 联系频次达标报表

label-period = 周期
label-mentor-organisation = 结对人所在单位
label-now = 当前
label-home-visits = 节假日到家共聚
label-requests = 申请
label-pending = 待审批
label-approved = 已批准
label-completed = 已完成
label-expired = 已过期
label-recorded-late = 事后补录
label-rejected = 未批准
label-cancelled = 已取消

## 统计口径

definition-children-registered = 期内建档立卡（状态达到“已登记”）的儿童，按建档日期计，限居住在本区域者；筛查中的儿童不计。
definition-families-phoned = 本区域期内至少完成一次电话访问的不同家庭数，不论其儿童状态。
definition-children-visited = 本区域期内至少完成一次当面走访（家中、学校或中心）的不同儿童数。
definition-events-held-by-type = 本区域开始时间在期内、已举办或已上报（不含计划中或已取消）的活动，按活动类型计。
definition-children-attending-events = 上述活动中登记为出席的不同儿童数。
definition-volunteers-active = 上述活动名册上的不同志愿者人数。
definition-volunteer-hours = 上述活动名册上志愿者的服务时长。
definition-children-assessed = 本区域期内有评估记录的不同儿童数。
definition-by-category = 各指标中的儿童按其登记的每一类别计（孤残、留守、困境）；同属两类的儿童两类都计。
definition-by-village = 各指标中的儿童（电话访问为家庭）按其居住的区域计；各村（社区）之和等于合计。

## 隐去的单元格

label-note = 说明
note-withheld = 有 { $cells } 个单元格为空：每个都基于不足 { $threshold } 名儿童，或可由此推算出这样的数字

## Workbooks (.xlsx): the title and the block that says what a workbook covers

label-workbook-summary = 项目汇总
label-workbook-events = 活动报表
label-workbook-assessments = 评估报表
label-workbook-compliance = 联系频次达标报表
label-workbook-period = 统计期间
label-workbook-first-record = 自首条记录起
label-workbook-today = 今天
label-workbook-region = 区域
label-workbook-everywhere = 阅读者可见的全部区域
label-workbook-generated-at = 生成时间
label-workbook-data-as-of = 数据截至

## The children's workbook (GET /api/v1/children.xlsx)

heading-case-number = 档案编号
heading-name = 姓名
heading-sex = 性别
heading-birth-date = 出生日期
heading-national-id = 身份证号
heading-categories = 类别
heading-village = 村/社区
heading-school = 学校
heading-status = 档案状态
heading-registered-on = 建档日期
heading-closed-on = 结案日期
heading-health-notes = 健康情况
heading-disability-notes = 残疾情况
heading-household-id = 家庭编号
heading-child-id = 儿童编号
label-export-children = 儿童名册
label-female = 女
label-male = 男
label-screening = 筛查中
label-registered = 已建档
label-active = 服务中
label-closed = 已结案

## The contacts' workbook (GET /api/v1/contacts.xlsx)

heading-occurred-at = 时间
heading-kind = 方式
heading-outcome = 结果
heading-child = 儿童
heading-notes = 备注
heading-made-by = 记录人（用户编号）
heading-contact-id = 联系记录编号
label-export-contacts = 走访联系记录
label-phone-visit = 电话走访
label-home-visit = 入户走访
label-school-visit = 到校走访
label-centre-visit = 到中心探访
label-not-reached = 未联系上

## The households' workbook (GET /api/v1/households.xlsx)

heading-address = 地址
heading-parents-work-away = 父母外出务工
heading-guardian = 首要联系监护人
heading-relation = 与儿童关系
heading-phone = 联系电话
heading-other-guardians = 其他监护人
heading-recorded-on = 登记日期
label-export-households = 家庭名册
label-yes = 是
label-no = 否
label-father = 父亲
label-mother = 母亲
label-grandfather = 祖父/外祖父
label-grandmother = 祖母/外祖母
label-sibling = 兄弟姐妹
label-other-relative = 其他亲属
label-foster-parent = 寄养家长
label-institution = 福利机构

## The home-visit requests' workbook (GET /api/v1/home-visit-requests.xlsx)

heading-leaves-at = 出发时间
heading-returns-at = 返回时间
heading-request-status = 申请状态
heading-transport = 交通方式
heading-supervisor = 看护人
heading-emergency-contact-name = 紧急联系人
heading-emergency-contact-phone = 紧急联系电话
heading-consent-given-by = 同意人
heading-consent-given-at = 同意时间
heading-checklist-completed-at = 安全清单完成时间
heading-decided-at = 审批或取消时间
heading-decision-reason = 不予批准或取消的原因
heading-returned-at = 实际返回时间
heading-late-reason = 事后补录原因
heading-requested-by = 申请人（用户编号）
heading-decided-by = 审批或取消人（用户编号）
heading-pairing-id = 结对编号
heading-request-id = 申请编号
label-export-home-visit-requests = 节假日到家共聚申请
label-requested = 已申请
label-consented = 已获同意
