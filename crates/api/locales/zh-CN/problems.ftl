# 问题消息，简体中文。标识：title-<状态码>；code-<问题代码>（`_` 写作 `-`）；
# field-<字段错误代码>，字段名为 $field。每个标识在 ../en/problems.ftl 中也有（由
# crates/api/src/i18n.rs 的测试检查）。

## 标题（按状态码）

title-400 = 请求有误
title-401 = 未认证
title-403 = 无权操作
title-404 = 未找到
title-405 = 不支持该方法
title-408 = 请求超时
title-409 = 状态冲突
title-410 = 已不存在
title-412 = 前提条件不满足
title-413 = 请求内容过大
title-415 = 不支持的内容类型
title-422 = 无法处理的内容
title-428 = 缺少前提条件
title-429 = 请求过多
title-500 = 服务器内部错误
title-503 = 服务暂不可用

## 问题（按代码）

code-already-attending = 该儿童的出勤已有记录
code-already-exempt = 该周期已豁免
code-already-resolved = 该复核已处理
code-already-rostered = 该志愿者已在排班表中
code-already-undone = 该合并已撤销
code-already-withdrawn = 该同意书已撤回
code-body-timeout = 请求内容中断，请重新发送
code-body-too-large = 请求内容过大
code-busy = 正在生成的报表（或预警列表）已达上限，请在 Retry-After 秒后重试
code-case-closed = 该儿童的个案已结案
code-case-number-taken = 该个案编号已被使用
code-checklist-incomplete = 批准前须确认全部安全事项
code-child-already-paired = 该儿童在这段日期内已有其他有效结对；conflicting_id 指明该结对
code-child-merged = 该记录已合并到另一条记录；merged_into 指明该记录
code-clearance-missing = { $has ->
    [background_check-day-name] { $name } 不能在 { $day } 与儿童一起服务：{ $background_check ->
        [missing] 没有背景审查记录
       *[other] 背景审查已于 { $background_check } 过期
    }
    [day-name-safety_training] { $name } 不能在 { $day } 与儿童一起服务：{ $safety_training ->
        [missing] 没有儿童安全培训记录
       *[other] 儿童安全培训已于 { $safety_training } 过期
    }
    [background_check-day-name-safety_training] { $name } 不能在 { $day } 与儿童一起服务：{ $background_check ->
        [missing] 没有背景审查记录
       *[other] 背景审查已于 { $background_check } 过期
    }；{ $safety_training ->
        [missing] 没有儿童安全培训记录
       *[other] 儿童安全培训已于 { $safety_training } 过期
    }
   *[other] 有志愿者在活动当日没有有效的背景审查或安全培训
}
code-client-revoked = 该客户端已被吊销
code-consent-missing = 尚未记录监护人或福利机构的同意
code-demo-loaded = 演示数据已加载
code-departure-passed = 出发时间已过；已进行的探访须由协调员补录
code-different-national-ids = 两条记录的身份证号不同，是两名儿童
code-duplicate = 该记录与已有记录重复
code-empty-import = 上传的名册为空，或只有表头没有数据行
code-event-closed = { $has ->
    [status] { $status ->
        [reported] 活动已上报，不再接受修改
        [cancelled] 活动已取消，不再接受修改
       *[other] 活动为 { $status } 状态，不再接受修改
    }
   *[other] 活动已报告或已取消，不再接受修改
}
code-expired = 出发时间已过仍未批准；该探访只能补录
code-field-forbidden = 调用者的角色可以修改该记录，但不能修改此字段
code-forbidden = 调用者的角色无权执行此操作
code-headings-not-recognised = 没有找到导入所需列的表头（可提供列映射）
code-home-visit-not-approved = 回家探访须记录在已批准的探访申请下
code-id-taken = 已存在使用该客户端指定 id 的记录
code-idempotency-key-in-use = 使用该 Idempotency-Key 的请求正在处理中
code-idempotency-key-reused = 该 Idempotency-Key 已用于另一个不同的请求
code-if-match-required = 请在 If-Match 请求头中发送记录的 ETag
code-illegal-step = 该回家探访申请当前所处步骤不允许此操作
code-illegal-transition = { $has ->
    [from-to] 生命周期不允许从 { $from } 变为 { $to }
   *[other] 生命周期不允许此状态变更
}
code-import-already-committed = 该导入已提交
code-import-has-errors = 导入中有无效行：请修改文件，或以 skip_invalid 提交
code-import-not-ready = 该导入仍在校验中
code-import-too-large = 名册超过大小或行数限制
code-internal = 发生意外错误；详情见服务日志
code-invalid-body = JSON 请求体与请求结构不符
code-invalid-client = 客户端凭据错误或已被吊销
code-invalid-credentials = 用户名或密码错误
code-invalid-grant = 刷新令牌无效、已过期或已被吊销
code-invalid-idempotency-key = Idempotency-Key 须为 1 至 200 个可见 ASCII 字符
code-invalid-if-match = If-Match 须为读取时返回的一个 ETag
code-invalid-if-none-match = If-None-Match 须为 * 或 ETag 列表，最多 200 个字符
code-invalid-path = 路径参数的类型不符
code-invalid-query = 查询参数未知、重复或类型不符
code-invalid-token = Authorization 请求头须为 Bearer <token>
code-last-admin = 此操作会使服务没有在职的管理员
code-malformed-json = 请求体不是格式正确的 JSON
code-mentor-already-paired = 该导师在这段日期内已有其他有效结对；conflicting_id 指明该结对
code-mentor-inactive = 该导师未处于在职状态
code-merge-conflict = 两条记录目前无法合并（都有进行中的结对，或都参加了同一活动）
code-merge-superseded = 保留的记录此后又被合并；请先撤销那次合并
code-merge-undo-expired = 已超过可撤销合并的期限
code-method-not-allowed = { $has ->
    [method] 该路径不支持 { $method } 方法；Allow 列出支持的方法
   *[other] 该路径不支持此方法；Allow 列出支持的方法
}
code-missing-token = 请发送访问令牌：Authorization: Bearer <token>
code-national-id-taken = 已有儿童登记了该身份证号；conflicting_id 指明该儿童
code-no-children-expected = 该活动设置为没有儿童参加
code-no-route = 没有这个接口
code-no-volunteers = 活动须至少有一名已排班的志愿者
code-not-a-holiday = 回家探访须在同一个国家法定节假日期间内
code-not-a-spreadsheet = 该文件不是 .xlsx 工作簿或 CSV 文本
code-not-approved = 只有已批准的回家探访才能完成
code-not-empty = 演示数据只能加载到没有儿童记录的数据库
code-not-found = 没有该记录，或调用者无权访问
code-not-started = 活动尚未开始
code-organisation-name-taken = 已存在同名机构
code-outside-active-interval = 该关系在此周期内未处于有效状态
code-outside-enrolment = 该辅导记录不在登记的日期范围内
code-outside-home-visit = 该联系不在已批准探访的日期范围内
code-outside-pairing = 探访日期不在结对有效的日期范围内
code-pairing-not-active = 该结对未处于有效状态
code-rate-limited = 该客户端请求过多，请放慢速度
code-reference-missing = 该记录引用了不存在的记录
code-region-code-taken = 已存在使用该区划代码的地区
code-region-name-taken = 上级地区下已有同名地区
code-rule-code-taken = 已存在使用该代码的规则
code-rule-version-exists = 该规则在此日期已有变更
code-sessions-outside = { $has ->
    [first-last] 已记录的辅导从 { $first } 到 { $last }，登记日期须包含这些辅导
   *[other] 登记日期的修改会使已记录的辅导落在日期范围之外
}
code-stale-version = 记录在你读取之后已被修改；请重新读取后再试
code-team-name-taken = 已存在同名队伍
code-too-many-attempts = 登录失败次数过多，请稍后再试
code-unavailable = 数据库暂不可用，请稍后重试
code-unknown-sheet = 工作簿中没有该名称的工作表
code-unreadable-body = 无法读取请求内容
code-unsupported-media-type = 请以 application/json 发送请求体
code-user-already-mentor = 该用户账号已属于一名导师
code-user-already-volunteer = 该用户账号已属于一名志愿者
code-username-taken = 已存在该用户名
code-validation-failed = 部分字段无效：不符合接口约定时为 400，违反业务规则时为 422；errors 逐项列出
code-volunteer-inactive = { $has ->
    [name] { $name } 未处于在职状态
   *[other] 该志愿者未处于在职状态
}

## 字段错误（按代码）

field-after-to = { $field } 晚于范围的结束日期
field-already-attending = { $field } 的出勤已有记录
field-ambiguous-village = { $field }：有多个同名的村/社区，请填写区划代码
field-bad-date = { $field } 不是日期（请写作 2015-06-01 或 2015年6月1日）
field-before-birth = { $field } 早于儿童的出生日期
field-before-done = { $field } 早于其前一步骤的时间
field-before-first-day = { $field } 早于第一天
field-before-given = { $field } 早于给予同意的日期
field-before-leaving = { $field } 早于出发时间
field-before-registration = { $field } 早于登记日期
field-before-start = { $field } 早于开始时间
field-birth-date = { $field } 中的出生日期无效
field-birth-date-mismatch = { $field } 与身份证号中的出生日期不符
field-blank = { $field } 不能为空
field-case-closed = { $field }：该个案已结案
field-cell-error = { $field } 是表格错误值（#N/A、#REF! 等）
field-check-digit = { $field } 的校验码不符
field-control-character = { $field } 含有控制字符
field-duplicate = { $field } 中有重复的值
field-duplicate-in-file = { $field }：文件中前面的行已有相同的身份证号
field-email = { $field } 不是有效的电子邮件地址
field-format = { $field } 的格式不正确
field-formula-value-used = { $field } 是公式，已使用其最后一次计算的结果
field-id-number-as-number = { $field }：Excel 把身份证号存成了数字，后几位已丢失；请把该列设置为文本格式（设置单元格格式 → 文本）后重新填写
field-immutable = { $field } 不能修改
field-implausible = { $field } 的值不合常理
field-in-future = { $field } 不能是将来的时间
field-incorrect = { $field } 不正确
field-invalid = { $field } 无效
field-invalid-cursor = { $field } 不是服务返回的游标
field-invalid-value = { $field } 的值或类型不符合要求
field-length = { $has ->
    [max-min] { $field } 的长度须在 { $min } 到 { $max } 之间
    [max] { $field } 的长度不得超过 { $max }
    [min] { $field } 的长度不得少于 { $min }
   *[other] { $field } 的长度不符合要求
}
field-national-id-taken = { $field }：该身份证号属于您可查看但不能修改的儿童
field-not-a-home-visit = { $field } 不是回家探访
field-not-a-number = { $field } 不是数字
field-not-allowed = 此处不允许 { $field }
field-not-an-alert = { $field } 不是预警
field-not-an-outing = { $field } 不是外出活动
field-not-case-staff = { $field } 不是个案工作人员
field-not-childs-household = { $field } 不是该儿童的家庭
field-not-for-users = { $field } 不适用于用户账号
field-not-found = { $field } 指向的记录不存在或无权访问
field-not-government = { $field } 不是政府部门
field-not-granted = { $field } 超出了客户端的授权范围
field-not-rostered = { $field } 不在排班表中
field-not-village = { $field } 不是村或社区
field-not-within-parent = { $field } 不在上级地区范围内
field-not-writable = 调用者的角色不能修改 { $field }
field-one-counsellor = { $field }：只能有一名辅导员
field-organiser-listed = { $field } 中包含了主办方
field-out-of-range = { $has ->
    [max-min] { $field } 须在 { $min } 到 { $max } 之间
   *[other] { $field } 超出允许范围
}
field-outings-only = { $field } 仅适用于外出活动
field-phone = { $field } 不是电话号码
field-range = { $has ->
    [max-min] { $field } 须在 { $min } 到 { $max } 之间
    [max] { $field } 不得大于 { $max }
    [min] { $field } 不得小于 { $min }
   *[other] { $field } 超出允许范围
}
field-range-too-long = { $has ->
    [days] { $field }：一次最多查询 { $days } 天
    [periods] { $field }：每条规则最多 { $periods } 个周期
   *[other] { $field } 的时间跨度过长
}
field-required = { $field } 为必填项
field-same-as-purchaser = { $field } 不能是采购方本身
field-same-record = { $field } 指向了记录本身
field-several-primary = { $field } 中有多个主要项
field-too-far-ahead = { $has ->
    [latest-years] { $field } 最多为 { $years } 年以后（不晚于 { $latest }）
   *[other] { $field } 距今太远（未来）
}
field-too-long = { $has ->
    [days] { $field }：时长不得超过 { $days } 天
   *[other] { $field } 过长
}
field-too-old = { $has ->
    [earliest-years] { $field } 须在 { $years } 年以内（不早于 { $earliest }）
   *[other] { $field } 距今太久
}
field-too-short = { $has ->
    [min] { $field } 至少需要 { $min } 个字符
   *[other] { $field } 过短
}
field-unknown-kind = { $field } 的类型未知
field-unknown-role = { $field } 的角色未知
field-unknown-value = { $field } 的值无法识别
field-unknown-village = { $field } 不是您辖区内的村/社区
field-wrong-level = { $field } 的层级不正确
field-wrong-year = { $field } 的年份不正确
